/** Test doubles for the functions' ports, and a config close to a real environment's. */
import { createHash } from "node:crypto";
import { parseEnvironmentConfig } from "../../pipeline/environment.js";
import { spaceport } from "../../stages/spaceport.js";
import { createApi } from "../../functions/api.js";
import type { FunctionConfig } from "../../functions/config.js";
import type { HttpRequest, HttpResponse } from "../../functions/http.js";
import type { Logger, LogLevel } from "../../functions/log.js";
import type {
  ExecutionEvent,
  ExecutionRecord,
  Executions,
  Mailer,
  ObjectInfo,
  ObjectStore,
  OutgoingEmail,
  StageProgress,
} from "../../functions/ports.js";

export const KEYS = { website: "sp_website-key-0123456789abcdef", scripts: "sp_scripts-key-fedcba9876543210" } as const;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

export const PROCESSING = "spaceport-prod-processing";
export const UPLOADS = "spaceport-prod-uploads";
export const PARTNER = "partner-surveys";

export function testConfig(overrides: Partial<FunctionConfig> = {}, env: Record<string, unknown> = {}): FunctionConfig {
  const parsed = parseEnvironmentConfig("test", {
    region: "us-west-2",
    quotas: [],
    allowedInputBuckets: [PARTNER],
    maxInputBytes: 1_000_000,
    sesSender: "jobs@spaceport.example",
    alarmEmail: "ops@spaceport.example",
    apiRateLimit: { ratePerSecond: 1, burst: 1000, jobsPerDay: 50 },
    apiKeys: { website: sha(KEYS.website), scripts: sha(KEYS.scripts) },
    corsOrigins: ["https://spaceport.example"],
    ...env,
  });
  return {
    environment: "test",
    env: parsed,
    processingBucket: PROCESSING,
    uploadsBucket: UPLOADS,
    apiKeys: Object.entries(parsed.apiKeys).map(([client, hex]) => ({ client, sha256: Buffer.from(hex, "hex") })),
    apiBaseUrl: "https://api.spaceport.example",
    maxBodyBytes: 16 * 1024,
    dedupeWindowSeconds: 600,
    pipeline: spaceport,
    ...overrides,
  };
}

/** An ObjectStore in memory, with S3's semantics for the parts the handlers use. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, { body: string; size: number; contentType?: string }>();
  readonly calls: string[] = [];

  add(bucket: string, key: string, size: number, body = ""): this {
    this.objects.set(`${bucket}/${key}`, { body, size });
    return this;
  }
  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.calls.push(`head ${bucket}/${key}`);
    const o = this.objects.get(`${bucket}/${key}`);
    return o ? { size: o.size } : undefined;
  }
  async getText(bucket: string, key: string): Promise<string | undefined> {
    return this.objects.get(`${bucket}/${key}`)?.body;
  }
  async putText(bucket: string, key: string, body: string, contentType?: string): Promise<void> {
    this.calls.push(`put ${bucket}/${key}`);
    this.objects.set(`${bucket}/${key}`, { body, size: Buffer.byteLength(body), ...(contentType ? { contentType } : {}) });
  }
  async putTextIfAbsent(bucket: string, key: string, body: string): Promise<boolean> {
    if (this.objects.has(`${bucket}/${key}`)) return false;
    await this.putText(bucket, key, body);
    return true;
  }
  async copyIfAbsent(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<boolean> {
    this.calls.push(`copy ${from.bucket}/${from.key} -> ${to.bucket}/${to.key}`);
    const o = this.objects.get(`${from.bucket}/${from.key}`);
    if (!o) throw Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey" });
    if (this.objects.has(`${to.bucket}/${to.key}`)) return false;
    this.objects.set(`${to.bucket}/${to.key}`, { ...o });
    return true;
  }
  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${bucket}/${prefix}`))
      .map(([k, o]) => ({ key: k.slice(bucket.length + 1), size: o.size }));
  }
  async publicUrl(_bucket: string, key: string): Promise<string> {
    return `https://d123.cloudfront.net/${key.split("/").map(encodeURIComponent).join("/")}`;
  }
}

/** Executions with scripted records and histories; `start` behaves like Step Functions (name unique). */
export class FakeExecutions implements Executions {
  readonly records = new Map<string, ExecutionRecord>();
  readonly histories = new Map<string, ExecutionEvent[]>();
  readonly starts: { name: string; input: string }[] = [];

  async start(name: string, input: string): Promise<{ started: boolean }> {
    this.starts.push({ name, input });
    if (this.records.has(name)) return { started: false };
    this.records.set(name, { name, status: "RUNNING", startDate: new Date("2026-11-26T09:30:12Z"), input });
    return { started: true };
  }
  async describe(name: string): Promise<ExecutionRecord | undefined> {
    return this.records.get(name);
  }
  async history(name: string): Promise<ExecutionEvent[]> {
    return this.histories.get(name) ?? [];
  }
}

export class FakeProgress implements StageProgress {
  readonly asked: string[] = [];
  constructor(private readonly value: number | undefined) {}
  async latest(kind: "processing" | "training", jobName: string): Promise<number | undefined> {
    this.asked.push(`${kind} ${jobName}`);
    return this.value;
  }
}

export class RecordingMailer implements Mailer {
  readonly sent: OutgoingEmail[] = [];
  constructor(private readonly fail?: Error) {}
  async send(message: OutgoingEmail): Promise<{ messageId: string }> {
    if (this.fail) throw this.fail;
    this.sent.push(message);
    return { messageId: `msg-${this.sent.length}` };
  }
}

export class RecordingLogger {
  readonly lines: { level: LogLevel; event: string; fields: Record<string, unknown> }[] = [];
  readonly log: Logger = (level, event, fields = {}) => {
    this.lines.push({ level, event, fields });
  };
  text(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }
}

export interface Harness {
  store: MemoryStore;
  executions: FakeExecutions;
  logger: RecordingLogger;
  config: FunctionConfig;
  clock: { now: number };
  call(request: Partial<HttpRequest> & { json?: unknown }): Promise<HttpResponse & { data: any }>;
}

/** The whole API (router + handlers) on fakes, with a controllable clock. */
export function harness(overrides: Partial<FunctionConfig> = {}, env: Record<string, unknown> = {}): Harness {
  const store = new MemoryStore();
  store.add(UPLOADS, "surveys/site-1.zip", 50_000);
  store.add(PARTNER, "incoming/Site 2 (north).zip", 80_000);
  const executions = new FakeExecutions();
  const logger = new RecordingLogger();
  const config = testConfig(overrides, env);
  const clock = { now: Date.parse("2026-11-26T09:30:12.345Z") };
  let counter = 0;
  const api = createApi(
    {
      store,
      executions,
      log: logger.log,
      now: () => new Date(clock.now),
      clock: () => clock.now,
      randomHex8: () => (0x1a2b3c4d + counter++).toString(16).padStart(8, "0"),
    },
    config,
  );
  return {
    store,
    executions,
    logger,
    config,
    clock,
    async call(request) {
      const headers: Record<string, string | undefined> = {
        authorization: `Bearer ${KEYS.website}`,
        ...(request.json !== undefined ? { "content-type": "application/json" } : {}),
        ...request.headers,
      };
      const response = await api({
        method: request.method ?? "POST",
        path: request.path ?? "/jobs",
        headers,
        ...(request.json !== undefined ? { body: JSON.stringify(request.json) } : request.body !== undefined ? { body: request.body } : {}),
        ...(request.sourceIp ? { sourceIp: request.sourceIp } : {}),
      });
      let data: unknown;
      try {
        data = response.body ? JSON.parse(response.body) : undefined;
      } catch {
        data = response.body;
      }
      return { ...response, data };
    },
  };
}

export const validBody = { input: `s3://${UPLOADS}/surveys/site-1.zip`, email: "pilot@example.com" };
