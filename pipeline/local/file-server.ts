/**
 * The local stand-in for the delivery CDN: `GET|HEAD /files/<bucket>/<key>` from the local
 * buckets, read-only. `spaceport dev` and `run` serve it beside the API (services.ts),
 * `spaceport open` alone, so the links in local emails work whichever of them runs. Like the CDN
 * on AWS it serves job deliveries only (`isDeliveryKey`): job inputs, uploads and idempotency
 * records (which hold submitters' emails) answer 404, as does anything that is not there, so a
 * caller cannot tell the two apart.
 */
import { statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { contentTypeFor } from "../content-types.js";
import { isDeliveryKey } from "../layout.js";

export const FILES_PATH = "/files/";

/** `<base>/files/<bucket>/<key>`: a file's URL on a local server. */
export const fileUrl = (baseUrl: string, bucket: string, key: string): string => `${baseUrl}${FILES_PATH}${bucket}/${key}`;

/** Whether a request is the file server's (the caller routes everything else). */
export const isFileRequest = (pathname: string, method: string | undefined): boolean =>
  pathname.startsWith(FILES_PATH) && (method === "GET" || method === "HEAD");

/** What may be served: deliveries of the processing bucket (of one job, for `spaceport open <job>`). */
export interface PublicFiles {
  readonly bucket: string;
  /** The pipeline's delivery output folder (`delivery`). */
  readonly deliveryOutput: string;
  readonly jobId?: string;
}

/** The object a `/files/...` path names, when it is public; else undefined. */
export function publicObject(pathname: string, rule: PublicFiles): { bucket: string; key: string } | undefined {
  if (!pathname.startsWith(FILES_PATH)) return undefined;
  const parts: string[] = [];
  for (const part of pathname.slice(FILES_PATH.length).split("/")) {
    try {
      parts.push(decodeURIComponent(part));
    } catch {
      return undefined;
    }
  }
  const [bucket, ...rest] = parts;
  const key = rest.join("/");
  if (bucket !== rule.bucket || !isDeliveryKey(key, rule.deliveryOutput)) return undefined;
  if (rule.jobId !== undefined && rest[1] !== rule.jobId) return undefined;
  return { bucket, key };
}

/** Answers one `/files/<bucket>/<key>` request: the delivery file, or 404. */
export function serveFile(objects: LocalObjectStore, rule: PublicFiles, pathname: string, req: IncomingMessage, res: ServerResponse): void {
  const object = publicObject(pathname, rule);
  let file: string | undefined;
  try {
    if (object) file = objects.path(object.bucket, object.key);
    if (file && !statSync(file).isFile()) file = undefined;
  } catch {
    file = undefined;
  }
  if (!file || !object) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found\n");
    return;
  }
  const size = statSync(file).size;
  // nosniff as CloudFront sends it, so a mistyped file fails here as it would for a buyer.
  res.writeHead(200, { "content-type": contentTypeFor(file), "content-length": String(size), "cache-control": "no-cache", "x-content-type-options": "nosniff", "access-control-allow-origin": "*" });
  if (req.method === "HEAD") return void res.end();
  objects.stream(object.bucket, object.key).on("error", () => res.destroy()).pipe(res);
}

/** Listens on 127.0.0.1:`port` (0: a free one); answers the server and its base URL. */
export async function listen(server: Server, port: number): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server of the local buckets alone (`spaceport open`). */
export async function startFileServer(objects: LocalObjectStore, rule: PublicFiles, port: number): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://127.0.0.1");
    if (isFileRequest(pathname, req.method)) return serveFile(objects, rule, pathname, req, res);
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found\n");
  });
  const baseUrl = await listen(server, port);
  return {
    baseUrl,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
