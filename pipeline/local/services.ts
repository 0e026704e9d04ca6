/**
 * `spaceport dev` in one call: a node:http server on 127.0.0.1 with the functions' own router
 * (start-job, job-status, uploads, cancel, retry: same routes, same API-key check), the
 * operator's page at `/app/`, the local buckets served under
 * `/files/<bucket>/<key>` (delivery links and the viewer, file-server.ts), and the local runtime
 * whose notify tasks call the functions' notify handler with the local adapters (folder
 * ObjectStore; SMTP when SPACEPORT_SMTP_URL is set, else the outbox folder). The pipeline and
 * the handlers come from the caller (the composition root, stages/cli.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { hashApiKey, type ApiKey } from "../../functions/auth.js";
import { DEFAULT_DEDUPE_WINDOW_SECONDS, DEFAULT_MAX_BODY_BYTES, type FunctionConfig } from "../../functions/config.js";
import type { Handlers } from "../../functions/handlers.js";
import type { Router } from "../../functions/http.js";
import { localMailer } from "../../functions/adapters/local/mailer.js";
import { LocalMultipartUploads } from "../../functions/adapters/local/multipart-uploads.js";
import { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { silentLogger, type Logger } from "../../functions/log.js";
import type { Mailer } from "../../functions/ports.js";
import { deliveryLinks, type Pipeline } from "../define.js";
import { JOB_ID, stageOutputPrefix } from "../layout.js";
import { DataDir } from "./data.js";
import { fileUrl, listen } from "./file-server.js";
import { localRequestHandler, uploadKey } from "./http-server.js";
import { LocalJobControl } from "./job-control.js";
import { recordLinkBase } from "./links.js";
import { LocalRuntime, REPO_ROOT, type LocalRuntimeOptions, type RecoveredJob } from "./runtime.js";
import { localBuckets, localTarget, readEnvironment } from "./target.js";
import { webAppRoute } from "./webapp-route.js";

export interface LocalServicesOptions extends Omit<LocalRuntimeOptions, "notify"> {
  readonly pipeline: Pipeline;
  /** The API and notify handlers (functions/handlers.ts): the same code as the Lambda functions. */
  readonly handlers: Handlers;
  /** Port on 127.0.0.1; 0 picks a free one. Default 8787. */
  readonly port?: number;
  /** The API key local clients use; default: SPACEPORT_API_KEY, else one kept in `<data>/api-key`. */
  readonly apiKey?: string;
  /** Environment variables (SPACEPORT_SMTP_URL, SPACEPORT_API_KEY). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** The functions' structured log. Default: silent. */
  readonly log?: Logger;
}

export interface LocalServices {
  readonly runtime: LocalRuntime;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly objectStore: LocalObjectStore;
  readonly multipart: LocalMultipartUploads;
  readonly mailer: Mailer;
  /** Where emails go: "smtp" or the outbox folder. */
  readonly mailTo: string;
  readonly functionConfig: FunctionConfig;
  readonly buckets: { processing: string; uploads: string };
  readonly router: Router;
  /** Jobs found running under a dead runtime at start, now failed and notified. */
  readonly recovered: readonly RecoveredJob[];
  /** Viewer URL of a job's delivery. */
  viewerUrl(jobId: string): string;
  /** Puts a local ZIP into the uploads bucket and answers its `s3://` URI (what POST /jobs takes). */
  upload(zipPath: string): string;
  close(): Promise<RecoveredJob[]>;
}

/** The local API key: SPACEPORT_API_KEY, else kept (0600) in `<data>/api-key`, made on first use. */
export function localApiKey(data: DataDir, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env["SPACEPORT_API_KEY"];
  if (fromEnv) return fromEnv;
  const file = join(data.root, "api-key");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const key = `sp_local_${randomBytes(24).toString("base64url")}`;
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/** What the local server sets as API Gateway and the stack's defaults would. */
const functionDefaults = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES, dedupeWindowSeconds: DEFAULT_DEDUPE_WINDOW_SECONDS } as const;

export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const env = options.env ?? process.env;
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const environment = options.environment ?? "prod";
  const config = options.config ?? readEnvironment(repoRoot, environment, options.configFile);
  const { pipeline } = options;
  const target = options.target ?? localTarget(environment, config, pipeline);
  const buckets = localBuckets(target);
  const data = new DataDir(options.dataDir);
  const apiKey = options.apiKey ?? localApiKey(data, env);
  const log = options.log ?? silentLogger;

  const server = createServer();
  const baseUrl = await listen(server, options.port ?? 8787);

  const objectStore = new LocalObjectStore(data.buckets, { publicBaseUrl: `${baseUrl}/files` });
  const mailer = localMailer(env, { outbox: data.outbox, from: config.sesSender });
  const multipart = localMultipart(objectStore, data, { baseUrl, apiKey, maxPartBytes: config.maxInputBytes });
  const apiKeys: ApiKey[] = [{ client: "local", sha256: hashApiKey(apiKey) }];
  const functionConfig: FunctionConfig = { ...functionDefaults, environment, env: config, processingBucket: buckets.processing, uploadsBucket: buckets.uploads, apiKeys, apiBaseUrl: baseUrl, appUrl: `${baseUrl}/app/`, pipeline, linksWhileServed: true };
  let runtime: LocalRuntime | undefined;
  try {
    runtime = new LocalRuntime({
      ...options,
      repoRoot,
      environment,
      config,
      pipeline,
      target,
      notify: (payload) => {
        rememberLinks(data, payload, baseUrl);
        return options.handlers.notify(payload, { store: objectStore, mailer, executions: runtime!.executions, log }, functionConfig);
      },
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const rt = runtime;
  const control = new LocalJobControl(rt.executions, rt.emulator);
  const router = options.handlers.api({ store: objectStore, executions: rt.executions, progress: rt.executions, uploads: multipart, control, mailer, log }, functionConfig);

  const webApp = webAppRoute({ port: () => Number(new URL(baseUrl).port), apiKey });
  const publicFiles = { bucket: buckets.processing, deliveryOutput: pipeline.delivery.output };
  const limits = { maxBodyBytes: functionConfig.maxBodyBytes, maxInputBytes: config.maxInputBytes };
  server.on("request", localRequestHandler({ baseUrl, objectStore, router, apiKeys, ...limits, uploadsBucket: buckets.uploads, publicFiles, log, multipart, webApp }));

  const recovered = await rt.recover();
  await multipart.sweep();
  let closing: Promise<RecoveredJob[]> | undefined;
  return {
    runtime: rt,
    baseUrl,
    apiKey,
    objectStore,
    multipart,
    mailer,
    mailTo: env["SPACEPORT_SMTP_URL"] ? "smtp" : data.outbox,
    functionConfig,
    buckets,
    router,
    recovered,
    viewerUrl: (jobId) => fileUrl(baseUrl, buckets.processing, `${stageOutputPrefix(jobId, pipeline.delivery.output)}${viewerFile(pipeline)}`),
    upload: (zipPath) => uploadLocalZip(objectStore, buckets.uploads, zipPath),
    close() {
      closing ??= (async () => {
        const stopped = await rt.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        (mailer as { close?: () => void }).close?.();
        return stopped;
      })();
      return closing;
    },
  };
}

/** The uploads API's local parts, signed with a secret derived from the local key, so part URLs outlive a restart (resumed uploads). */
function localMultipart(objectStore: LocalObjectStore, data: DataDir, options: { baseUrl: string; apiKey: string; maxPartBytes: number }): LocalMultipartUploads {
  const secret = createHash("sha256").update(`multipart\n${options.apiKey}`).digest();
  return new LocalMultipartUploads(objectStore, join(data.root, "multipart"), { baseUrl: options.baseUrl, secret, maxPartBytes: options.maxPartBytes });
}

/** A local ZIP copied into the uploads bucket under a fresh key; its `s3://` URI. */
function uploadLocalZip(objectStore: LocalObjectStore, bucket: string, zipPath: string): string {
  const name = zipPath.split("/").pop()!.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "") || "photos.zip";
  const key = uploadKey(name.endsWith(".zip") ? name : `${name}.zip`);
  objectStore.putFileSync(bucket, key, zipPath);
  return `s3://${bucket}/${key}`;
}

/** The email's links point at this server: remembered so `spaceport open` serves them later. */
function rememberLinks(data: DataDir, payload: unknown, baseUrl: string): void {
  const jobId = (payload as { jobId?: unknown } | null)?.jobId;
  if (typeof jobId === "string" && JOB_ID.test(jobId)) recordLinkBase(data, jobId, baseUrl);
}

/** The delivery's page a browser opens: its `viewer` link, else index.html. */
export function viewerFile(pipeline: Pipeline): string {
  return deliveryLinks(pipeline)["viewer"] ?? "index.html";
}
