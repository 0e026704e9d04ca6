/**
 * `s3:listObjectsV2` on the local buckets, for the state machine's `aws-sdk:s3:listObjectsV2`
 * Tasks (an early output's marker, a stage's final output): keys that start with the prefix,
 * in key order, at most MaxKeys, answered in the SDK's shape.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DataDir } from "./data.js";

export interface ListObjectsInput {
  readonly Bucket?: unknown;
  readonly Prefix?: unknown;
  readonly MaxKeys?: unknown;
}

export function listObjects(data: DataDir, input: ListObjectsInput): Record<string, unknown> {
  if (typeof input.Bucket !== "string") throw Object.assign(new Error("Bucket is required"), { name: "S3.S3Exception" });
  const prefix = typeof input.Prefix === "string" ? input.Prefix : "";
  const max = typeof input.MaxKeys === "number" && input.MaxKeys > 0 ? Math.min(input.MaxKeys, 1000) : 1000;
  const root = data.bucketDir(input.Bucket);
  // Only the folder the prefix ends in can hold matches.
  const folderKey = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/") + 1) : "";
  const folder = data.objectPath(input.Bucket, folderKey);
  const keys: { Key: string; Size: number }[] = [];
  const walk = (dir: string, keyPrefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (keys.length > max) return;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) walk(join(dir, entry.name), `${key}/`);
      } else if (entry.isFile() && key.startsWith(prefix) && !entry.name.endsWith(".tmp")) {
        keys.push({ Key: key, Size: statSync(join(dir, entry.name)).size });
      }
    }
  };
  if (existsSync(root) && existsSync(folder) && statSync(folder).isDirectory()) walk(folder, folderKey);
  const contents = keys.slice(0, max);
  return { Name: input.Bucket, Prefix: prefix, MaxKeys: max, KeyCount: contents.length, IsTruncated: keys.length > max, Contents: contents };
}
