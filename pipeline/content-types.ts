/**
 * The HTTP type of every object the product serves, by file extension: the delivery's viewer
 * (html, js, css), its scene files and previews, reports, uploads. The one table: the local
 * file servers (`spaceport dev`, `run`, `open`), the compressor's own preview server and the
 * CloudFront function that types deliveries on AWS all read it. The viewer page is an ES module
 * served with `X-Content-Type-Options: nosniff`, so a script sent as octet-stream blanks it.
 *
 * Only Node's own modules on purpose: the compressor image copies this file alone.
 */
import { posix } from "node:path";

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".wasm": "application/wasm",
  ".webp": "image/webp",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".ico": "image/x-icon",
  ".zip": "application/zip",
  ".gz": "application/gzip",
  // Binary scene formats (SOG, SPZ, PLY) have no registered type; the viewer fetches them as bytes.
  ".sog": "application/octet-stream",
  ".spz": "application/octet-stream",
  ".ply": "application/octet-stream",
};

export const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The extension of a key or path (lower case, with the dot), or "" when it has none. */
export function extensionOf(key: string): string {
  return posix.extname(key).toLowerCase();
}

export function contentTypeFor(key: string): string {
  return CONTENT_TYPES[extensionOf(key)] ?? DEFAULT_CONTENT_TYPE;
}
