/**
 * What the hostile probe (tests/hostile/probe.ts) works with: `spaceport dev` as a child
 * process on 127.0.0.1 with its own data dir, an SMTP server that can refuse recipients (the
 * tests' own), an HTTP client that counts every answer, small archives, and the totals the
 * probe prints.
 */
import { until } from "../local/fixtures.js";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ZipFile } from "yazl";
import { REPO_ROOT } from "../../pipeline/local/runtime.js";

export const API_KEY = "sp_probe_0123456789abcdef0123456789";

export class Totals {
  tries = 0;
  serverErrors = 0;
  crashes = 0;
  inputsLost = 0;
  wrongPhotoCount = 0;
  untold = 0;
  readonly unexpected: string[] = [];

  expect(ok: boolean, what: string): void {
    if (!ok) this.unexpected.push(what);
  }
  line(): string {
    return `hostile probe: ${this.tries} tries, ${this.serverErrors} 5xx answers, ${this.crashes} crashes, ${this.inputsLost} inputs lost, ` +
      `${this.wrongPhotoCount} jobs with a wrong photo count, ${this.untold} submitters not told, ${this.unexpected.length} unexpected answers`;
  }
  get failed(): boolean {
    return this.serverErrors + this.crashes + this.inputsLost + this.wrongPhotoCount + this.untold + this.unexpected.length > 0;
  }
}

export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly text: string;
  readonly headers: Headers;
}

/** `spaceport dev` in a child process; `expectExit` marks a deliberate kill, any other exit is a crash. */
export class Dev {
  baseUrl = "";
  private child: ChildProcess | undefined;
  private expectedExit = false;
  output = "";

  constructor(
    private readonly totals: Totals,
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async start(): Promise<void> {
    this.expectedExit = false;
    this.output = "";
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "stages/cli.ts"), "dev", "--port", "0", ...this.args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env, SPACEPORT_API_KEY: API_KEY },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout!.on("data", (c: Buffer) => (this.output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (this.output += c.toString()));
    child.once("exit", (code, signal) => {
      if (!this.expectedExit) {
        this.totals.crashes++;
        process.stderr.write(`spaceport dev exited unexpectedly (${signal ?? code}):\n${this.output.slice(-2000)}\n`);
      }
    });
    this.baseUrl = await until("spaceport dev to listen", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(this.output)?.[1], 60_000);
  }

  /** SIGKILL (a crash we cause) or SIGINT (a clean stop). */
  async stop(signal: "SIGKILL" | "SIGINT"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.expectedExit = true;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
  }

  /** One hostile try (counted), or with `observe` a look at a job's state (not counted). */
  async request(path: string, init: RequestInit & { auth?: boolean; observe?: boolean } = {}): Promise<Answer> {
    if (!init.observe) this.totals.tries++;
    const headers = new Headers(init.headers);
    if (init.auth !== false && !headers.has("authorization")) headers.set("authorization", `Bearer ${API_KEY}`);
    try {
      const response = await fetch(`${this.baseUrl}${path}`, { ...init, headers });
      const text = await response.text();
      if (response.status >= 500) {
        this.totals.serverErrors++;
        process.stderr.write(`5xx: ${init.method ?? "GET"} ${path.slice(0, 80)} -> ${response.status} ${text.slice(0, 200)}\n`);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { status: response.status, body, text, headers: response.headers };
    } catch (error) {
      // No answer at all: a reset connection or a server that is gone.
      this.totals.expect(false, `${init.method ?? "GET"} ${path.slice(0, 80)}: no answer (${(error as Error).cause ?? (error as Error).message})`);
      return { status: 0, body: undefined, text: "", headers: new Headers() };
    }
  }

  json(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    return this.request(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  }

  async upload(name: string, bytes: Buffer): Promise<string> {
    const answer = await this.request(`/uploads/${name}`, { method: "PUT", body: new Uint8Array(bytes) });
    if (answer.status !== 201) throw new Error(`upload of ${name} answered ${answer.status}: ${answer.text}`);
    return (answer.body as { input: string }).input;
  }

  async status(jobId: string): Promise<any> {
    return (await this.request(`/jobs/${jobId}`, { observe: true })).body;
  }
}

/** SMTP on 127.0.0.1 that refuses the recipients `rejectRecipient` names (a 550, as for a mailbox that does not exist). */
export { startSmtp, until } from "../local/fixtures.js";

/** A ZIP of the given entries (deflated), in memory. */
export async function zipOf(entries: Record<string, Buffer>): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name, { compress: true });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `count` small JPEGs of noise (unrelated photos: SfM reads them, then cannot place them, fast). */
export function noisePhotos(dir: string, count: number): Buffer[] {
  const python = process.env["SPACEPORT_PYTHON"] ?? "python3";
  const script = "import sys,random\nfrom PIL import Image\nfor i in range(int(sys.argv[2])):\n" +
    "    r=random.Random(i); im=Image.frombytes('RGB',(240,180),bytes(r.getrandbits(8) for _ in range(240*180*3))); im.save(f'{sys.argv[1]}/p{i}.jpg',quality=85)\n";
  const result = spawnSync(python, ["-c", script, dir, String(count)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`could not make noise photos: ${result.stderr}`);
  return Array.from({ length: count }, (_, i) => readFileSync(join(dir, `p${i}.jpg`)));
}

export const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

/** Pid of the stage program running SageMaker job `jobName` (its environment names the job). */
export function stagePid(jobName: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "utf8").split("\0").includes(`SPACEPORT_SAGEMAKER_JOB=${jobName}`)) return Number(entry);
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
}

export function writeConfig(path: string): void {
  writeFileSync(
    path,
    [
      "config:",
      "  aws:region: us-west-2",
      "  spaceport:quotas:",
      // Admission follows capacity (quota × a day ÷ expected time): the training quota is set
      // high so the probe may submit its jobs in a day; processing stays at one (FIFO waits).
      "    - { instanceType: ml.g4dn.xlarge, jobKind: training, count: 100 }",
      "    - { instanceType: ml.c6i.xlarge, jobKind: processing, count: 1 }",
      "  spaceport:instanceOverrides:",
      "    sfm: { type: ml.c6i.xlarge }",
      "    compressor: { type: ml.c6i.xlarge }",
      "  spaceport:sesSender: jobs-probe@spaceport.example.com",
      "  spaceport:alarmEmail: ops@spaceport.example.com",
      "  spaceport:apiRateLimit: { ratePerSecond: 200, burst: 400, jobsPerDay: 1000 }",
      "",
    ].join("\n"),
  );
}

