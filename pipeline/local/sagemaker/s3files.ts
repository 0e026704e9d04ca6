/** S3 transfer semantics of SageMaker, on local bucket folders. */
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { DataDir } from "../data.js";

/**
 * SageMaker's `S3Prefix` download: every object whose key starts with the prefix, placed
 * under `dest` by its key after the prefix's last `/` (so `.../sfm/` copies the folder's
 * contents). A URI that names one object exactly (`.../input/photos.zip`) downloads that object
 * alone: a stage must never be handed `photos.zip.bak` beside the input it asked for. Returns
 * how many entries were copied.
 */
export function downloadPrefix(data: DataDir, uri: string, dest: string): number {
  const path = data.uriToPath(uri);
  mkdirSync(dest, { recursive: true });
  if (!uri.endsWith("/") && existsSync(path) && statSync(path).isFile()) {
    cpSync(path, join(dest, basename(path)));
    return 1;
  }
  const folder = uri.endsWith("/") ? path : dirname(path);
  const start = uri.endsWith("/") ? "" : basename(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) return 0;
  let matched = 0;
  for (const entry of readdirSync(folder)) {
    if (!entry.startsWith(start)) continue;
    cpSync(join(folder, entry), join(dest, entry), { recursive: true });
    matched++;
  }
  return matched;
}

/** Uploads a local folder's contents under an S3 prefix (a folder in the bucket). */
export function uploadFolder(data: DataDir, source: string, uri: string): void {
  if (!existsSync(source)) return;
  const target = data.uriToPath(uri.endsWith("/") ? uri : `${uri}/`);
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(source)) cpSync(join(source, entry), join(target, entry), { recursive: true });
}

export function uploadFile(data: DataDir, source: string, uri: string): void {
  const target = data.uriToPath(uri);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target);
}
