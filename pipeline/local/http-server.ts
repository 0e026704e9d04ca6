/**
 * The local server's requests: files (file-server.ts), `PUT /uploads/<name>.zip` (the local
 * stand-in for a presigned upload), the uploads API's part PUTs, the page, and everything else
 * to the functions' router, with the body
 * read up to its limit as API Gateway would.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline as pipe } from "node:stream/promises";
import type { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { authenticate, type ApiKey } from "../../functions/auth.js";
import { ApiError } from "../../functions/errors.js";
import type { HttpRequest, Router } from "../../functions/http.js";
import type { LocalMultipartUploads } from "../../functions/adapters/local/multipart-uploads.js";
import { isFileRequest, serveFile } from "./file-server.js";
import { isPartUpload, receivePart } from "./multipart-route.js";

export interface LocalServer {
  readonly baseUrl: string;
  readonly objectStore: LocalObjectStore;
  readonly router: Router;
  readonly apiKeys: readonly ApiKey[];
  /** The API's body limit (the router answers 413 above it). */
  readonly maxBodyBytes: number;
  /** The largest upload accepted (`maxInputBytes`). */
  readonly maxInputBytes: number;
  readonly uploadsBucket: string;
  /** The uploads API's part route (`PUT /multipart/<id>/<n>`). */
  readonly multipart?: LocalMultipartUploads;
  /** The operator's page (`/`, `/app/...`); true when it answered. */
  readonly webApp?: (pathname: string, req: IncomingMessage, res: ServerResponse) => boolean;
}

/** Key of a local upload in the uploads bucket: unique, sortable by time. */
export function uploadKey(name: string): string {
  return `local/${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}-${name}`;
}

function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  return headers;
}

export function localRequestHandler(server: LocalServer): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(server, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "internal", field: "", message: String((error as Error)?.message ?? error) } }));
    });
  };
}

async function handle(server: LocalServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", server.baseUrl);
  if (isFileRequest(url.pathname, req.method)) return serveFile(server.objectStore, url.pathname, req, res);
  if (url.pathname.startsWith("/uploads/") && req.method === "PUT") return receiveUpload(server, url.pathname, req, res);
  if (server.multipart && isPartUpload(url.pathname, req.method)) return receivePart(server.multipart, url, req, res);
  if (server.webApp?.(url.pathname, req, res)) return;
  const limit = server.maxBodyBytes + 1;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) break; // the router answers 413 for anything above its limit
    chunks.push(chunk as Buffer);
  }
  const request: HttpRequest = {
    method: req.method ?? "GET",
    path: url.pathname,
    headers: headersOf(req),
    ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    ...(req.socket.remoteAddress ? { sourceIp: req.socket.remoteAddress } : {}),
  };
  const response = await server.router(request);
  res.writeHead(response.status, response.headers);
  res.end(response.body);
}

/** `PUT /uploads/<name>.zip` (API key required): a local stand-in for a presigned upload. */
async function receiveUpload(server: LocalServer, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    authenticate(headersOf(req), server.apiKeys);
    const name = decodeURIComponent(pathname.slice("/uploads/".length));
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.zip$/i.test(name)) throw new ApiError(400, "path", "upload as /uploads/<name>.zip (letters, digits, '.', '_', '-')");
    const key = uploadKey(name);
    const file = server.objectStore.path(server.uploadsBucket, key);
    mkdirSync(join(file, ".."), { recursive: true });
    let size = 0;
    const limit = server.maxInputBytes;
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
    res.end(JSON.stringify({ input: `s3://${server.uploadsBucket}/${key}`, size }));
  } catch (error) {
    const apiError = error instanceof ApiError ? error : new ApiError(400, "body", (error as Error).message);
    res.writeHead(apiError.status, { "content-type": "application/json", ...apiError.headers });
    res.end(JSON.stringify(apiError.toJSON()));
  }
}
