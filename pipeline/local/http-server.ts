/**
 * The local server's requests: files (file-server.ts), `PUT /uploads/<name>.zip` (the local
 * stand-in for a presigned upload), the uploads API's part PUTs (multipart-route.ts), the page,
 * and everything else to the functions' router, with the body read up to its limit as API
 * Gateway would (http-edge.ts). Anything unexpected is a bare 500, logged with a request id.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { authenticate, type ApiKey } from "../../functions/auth.js";
import { ApiError } from "../../functions/errors.js";
import type { HttpRequest, Router } from "../../functions/http.js";
import type { LocalMultipartUploads } from "../../functions/adapters/local/multipart-uploads.js";
import type { Logger } from "../../functions/log.js";
import { isFileRequest, serveFile, type PublicFiles } from "./file-server.js";
import { answerInternalError, decodePathPart, headersOf, limitBytes, readLimitedBody } from "./http-edge.js";
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
  /** What `/files` serves: deliveries only. */
  readonly publicFiles: PublicFiles;
  readonly log: Logger;
  /** The uploads API's part route (`PUT /multipart/<id>/<n>`). */
  readonly multipart?: LocalMultipartUploads;
  /** The operator's page (`/`, `/app/...`); true when it answered. */
  readonly webApp?: (pathname: string, req: IncomingMessage, res: ServerResponse) => boolean;
}

/** Key of a local upload in the uploads bucket: unique, sortable by time. */
export function uploadKey(name: string): string {
  return `local/${new Date().toISOString().replace(/[:.]/g, "-")}-${randomBytes(3).toString("hex")}-${name}`;
}

export function localRequestHandler(server: LocalServer): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(server, req, res).catch((error: unknown) => answerInternalError(res, server.log, error, { method: req.method ?? "", path: (req.url ?? "").split("?")[0]!.slice(0, 200) }));
  };
}

async function handle(server: LocalServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", server.baseUrl);
  if (isFileRequest(url.pathname, req.method)) return serveFile(server.objectStore, server.publicFiles, url.pathname, req, res);
  if (url.pathname.startsWith("/uploads/") && req.method === "PUT") return receiveUpload(server, url.pathname, req, res);
  if (server.multipart && isPartUpload(url.pathname, req.method)) return receivePart(server.multipart, url, req, res);
  if (server.webApp?.(url.pathname, req, res)) return;
  // Read before the body: a request whose body is cut short has no socket left afterwards.
  const sourceIp = req.socket?.remoteAddress;
  // The router answers 413 for anything above its limit.
  const { body, closeAfter } = await readLimitedBody(req, server.maxBodyBytes);
  const request: HttpRequest = {
    method: req.method ?? "GET",
    path: url.pathname,
    headers: headersOf(req),
    ...(body.length > 0 ? { body } : {}),
    ...(sourceIp ? { sourceIp } : {}),
  };
  const response = await server.router(request);
  res.writeHead(response.status, closeAfter ? { ...response.headers, connection: "close" } : response.headers);
  res.end(response.body, () => {
    if (closeAfter) req.destroy();
  });
}

/** `PUT /uploads/<name>.zip` (API key required): written to a temporary file, renamed into place once whole. */
async function receiveUpload(server: LocalServer, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(body));
  };
  try {
    authenticate(headersOf(req), server.apiKeys);
    const name = decodePathPart(pathname.slice("/uploads/".length));
    if (name === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.zip$/i.test(name)) throw new ApiError(400, "path", "upload as /uploads/<name>.zip (letters, digits, '.', '_', '-')");
    const limit = server.maxInputBytes;
    if (Number(req.headers["content-length"] ?? 0) > limit) throw new ApiError(413, "body", `the upload is larger than ${limit} bytes`);
    const key = uploadKey(name);
    const size = await server.objectStore.putStream(server.uploadsBucket, key, limitBytes(req, limit));
    answer(201, { input: `s3://${server.uploadsBucket}/${key}`, size });
  } catch (error) {
    if (res.destroyed || !res.socket || res.socket.destroyed) return; // the client went away: nothing was kept, nobody to answer
    if (!(error instanceof ApiError)) return answerInternalError(res, server.log, error, { method: "PUT", path: "/uploads/" });
    answer(error.status, error.toJSON(), { ...error.headers });
  }
}
