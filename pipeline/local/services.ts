/**
 * `spaceport dev` in one call: a node:http server on 127.0.0.1 with the functions' own router
 * (start-job, job-status: same routes, same API-key check), the local buckets served under
 * `/files/<bucket>/<key>` (delivery links and the viewer), and the local runtime whose notify
 * tasks call the functions' notify handler with the local adapters (folder ObjectStore; SMTP
 * when SPACEPORT_SMTP_URL is set, else the outbox folder).
 */
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, createWriteStream } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline as pipe } from "node:stream/promises";
import { createApi } from "../../functions/api.js";
import { authenticate, hashApiKey, type ApiKey } from "../../functions/auth.js";
import { DEFAULT_DEDUPE_WINDOW_SECONDS, DEFAULT_MAX_BODY_BYTES, type FunctionConfig } from "../../functions/config.js";
import { ApiError } from "../../functions/errors.js";
import type { HttpRequest, Router } from "../../functions/http.js";
import { localMailer } from "../../functions/adapters/local/mailer.js";
import { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { LocalMultipartUploads } from "../../functions/adapters/local/multipart-uploads.js";
import { contentTypeFor } from "../content-types.js";
import { silentLogger, type Logger } from "../../functions/log.js";
import { notify } from "../../functions/notify/handler.js";
import type { Mailer } from "../../functions/ports.js";
import type { Pipeline } from "../define.js";
import { JOB_ID } from "../layout.js";
import { DataDir } from "./data.js";
import { LocalJobControl } from "./job-control.js";
import { recordLinkBase } from "./links.js";
import { isPartUpload, receivePart } from "./multipart-route.js";
import { webAppRoute } from "./webapp-route.js";
import { LocalRuntime, REPO_ROOT, type LocalRuntimeOptions, type RecoveredJob } from "./runtime.js";
import { localBuckets, localTarget, readEnvironment } from "./target.js";
import { spaceport } from "../../stages/spaceport.js";

export interface LocalServicesOptions extends Omit<LocalRuntimeOptions, "notify" | "pipeline"> {
  readonly pipeline?: Pipeline;
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

export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const env = options.env ?? process.env;
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const environment = options.environment ?? "prod";
  const config = options.config ?? readEnvironment(repoRoot, environment, options.configFile);
  const pipeline = options.pipeline ?? spaceport;
  const target = options.target ?? localTarget(environment, config, pipeline);
  const buckets = localBuckets(target);
  const data = new DataDir(options.dataDir);
  const apiKey = options.apiKey ?? localApiKey(data, env);
  const log = options.log ?? silentLogger;

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8787, "127.0.0.1", () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const objectStore = new LocalObjectStore(data.buckets, { publicBaseUrl: `${baseUrl}/files` });
  const mailer = localMailer(env, { outbox: data.outbox, from: config.sesSender });
  // Signed with a secret derived from the local key, so part URLs outlive a restart (resumed uploads).
  const multipart = new LocalMultipartUploads(objectStore, join(data.root, "multipart"), {
    baseUrl,
    secret: createHash("sha256").update(`multipart\n${apiKey}`).digest(),
    maxPartBytes: config.maxInputBytes,
  });
  const apiKeys: ApiKey[] = [{ client: "local", sha256: hashApiKey(apiKey) }];
  const functionConfig: FunctionConfig = {
    environment,
    env: config,
    processingBucket: buckets.processing,
    uploadsBucket: buckets.uploads,
    apiKeys,
    apiBaseUrl: baseUrl,
    appUrl: `${baseUrl}/app/`,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    dedupeWindowSeconds: DEFAULT_DEDUPE_WINDOW_SECONDS,
    pipeline,
  };
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
        // The email's links point at this server: remembered so `spaceport open` serves them later.
        const jobId = (payload as { jobId?: unknown } | null)?.jobId;
        if (typeof jobId === "string" && JOB_ID.test(jobId)) recordLinkBase(data, jobId, baseUrl);
        return notify(payload, { store: objectStore, mailer, executions: runtime!.executions, log }, functionConfig);
      },
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const rt = runtime;
  const router = createApi({ store: objectStore, executions: rt.executions, progress: rt.executions, uploads: multipart, control: new LocalJobControl(rt.executions, rt.emulator), mailer, log }, functionConfig);

  const upload = (zipPath: string): string => {
    const name = zipPath.split("/").pop()!.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "") || "photos.zip";
    const key = `local/${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}-${name.endsWith(".zip") ? name : `${name}.zip`}`;
    const file = objectStore.path(buckets.uploads, key);
    mkdirSync(join(file, ".."), { recursive: true });
    copyFileSync(zipPath, file);
    return `s3://${buckets.uploads}/${key}`;
  };

  const webApp = webAppRoute({ port: () => (server.address() as AddressInfo).port, apiKey });
  server.on("request", (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "internal", field: "", message: String((error as Error)?.message ?? error) } }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", baseUrl);
    if (url.pathname.startsWith("/files/") && (req.method === "GET" || req.method === "HEAD")) return serveFile(url.pathname, req, res);
    if (url.pathname.startsWith("/uploads/") && req.method === "PUT") return receiveUpload(url.pathname, req, res);
    if (isPartUpload(url.pathname, req.method)) return receivePart(multipart, url, req, res);
    if (webApp(url.pathname, req, res)) return;
    const limit = functionConfig.maxBodyBytes + 1;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) break; // the router answers 413 for anything above its limit
      chunks.push(chunk as Buffer);
    }
    const headers: Record<string, string | undefined> = Object.create(null);
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    const request: HttpRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      headers,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      ...(req.socket.remoteAddress ? { sourceIp: req.socket.remoteAddress } : {}),
    };
    const response = await router(request);
    res.writeHead(response.status, response.headers);
    res.end(response.body);
  }

  /** `/files/<bucket>/<key>`: the local stand-in for the delivery CDN (read-only). */
  function serveFile(pathname: string, req: IncomingMessage, res: ServerResponse): void {
    const parts = pathname.slice("/files/".length).split("/").map((p) => { try { return decodeURIComponent(p); } catch { return "\0"; } });
    const [bucket, ...key] = parts;
    let file: string;
    try {
      file = objectStore.path(bucket ?? "", key.join("/"));
      if (!statSync(file).isFile()) throw new Error("not a file");
    } catch {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
      return;
    }
    const size = statSync(file).size;
    // nosniff as CloudFront sends it, so a mistyped file fails here as it would for a buyer.
    res.writeHead(200, { "content-type": contentTypeFor(file), "content-length": String(size), "cache-control": "no-cache", "x-content-type-options": "nosniff", "access-control-allow-origin": "*" });
    if (req.method === "HEAD") return void res.end();
    createReadStream(file).pipe(res);
  }

  /** `PUT /uploads/<name>.zip` (API key required): a local stand-in for a presigned upload. */
  async function receiveUpload(pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const headers: Record<string, string | undefined> = Object.create(null);
    for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
    try {
      authenticate(headers, apiKeys);
      const name = decodeURIComponent(pathname.slice("/uploads/".length));
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.zip$/i.test(name)) throw new ApiError(400, "path", "upload as /uploads/<name>.zip (letters, digits, '.', '_', '-')");
      const key = `local/${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}-${name}`;
      const file = objectStore.path(buckets.uploads, key);
      mkdirSync(join(file, ".."), { recursive: true });
      let size = 0;
      const limit = config.maxInputBytes;
      await pipe(
        req,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > limit) throw new ApiError(413, "body", `the upload is larger than ${limit} bytes`);
            yield chunk;
          }
        },
        createWriteStream(file),
      );
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ input: `s3://${buckets.uploads}/${key}`, size }));
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(400, "body", (error as Error).message);
      res.writeHead(apiError.status, { "content-type": "application/json", ...apiError.headers });
      res.end(JSON.stringify(apiError.toJSON()));
    }
  }

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
    viewerUrl: (jobId) => `${baseUrl}/files/${buckets.processing}/jobs/${jobId}/${pipeline.delivery.output}/index.html`,
    upload,
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
