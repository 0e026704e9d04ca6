/**
 * `GET /files/<bucket>/<key>`: the local stand-in for the delivery CDN, shared by `spaceport dev`
 * and `spaceport open`. Like the CDN on AWS it serves job deliveries only (`isDeliveryKey`):
 * job inputs, uploads and idempotency records (which hold submitters' emails) answer 404, as does
 * anything that is not there, so a caller cannot tell the two apart.
 */
import { statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LocalObjectStore } from "../../functions/adapters/local/object-store.js";
import { contentTypeFor } from "../content-types.js";
import { isDeliveryKey } from "../layout.js";

export interface PublicFilesRule {
  /** The processing bucket: deliveries live there. */
  readonly bucket: string;
  /** The pipeline's delivery output folder (`delivery`). */
  readonly deliveryOutput: string;
  /** Serve this job only (`spaceport open <job>`). */
  readonly jobId?: string;
}

/** The object a `/files/...` path names, when it is public; else undefined. */
export function publicObject(pathname: string, rule: PublicFilesRule): { bucket: string; key: string } | undefined {
  if (!pathname.startsWith("/files/")) return undefined;
  const parts: string[] = [];
  for (const part of pathname.slice("/files/".length).split("/")) {
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

export function serveFile(store: LocalObjectStore, rule: PublicFilesRule, pathname: string, req: IncomingMessage, res: ServerResponse): void {
  const object = publicObject(pathname, rule);
  let file: string | undefined;
  try {
    if (object) file = store.path(object.bucket, object.key);
    if (file && !statSync(file).isFile()) file = undefined;
  } catch {
    file = undefined;
  }
  if (!file || !object || (req.method !== "GET" && req.method !== "HEAD")) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
    res.end("not found\n");
    return;
  }
  const size = statSync(file).size;
  // nosniff as CloudFront sends it, so a mistyped file fails here as it would for a buyer.
  res.writeHead(200, { "content-type": contentTypeFor(file), "content-length": String(size), "cache-control": "no-cache", "x-content-type-options": "nosniff", "access-control-allow-origin": "*" });
  if (req.method === "HEAD") return void res.end();
  store.stream(object.bucket, object.key).on("error", () => res.destroy()).pipe(res);
}
