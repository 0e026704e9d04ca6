/**
 * ObjectStore on the file system: one folder per bucket under a data directory
 * (`<root>/<bucket>/<key>`). Keys are checked so that no key can leave its bucket folder.
 * Writes go to a temporary file and are renamed into place, so readers never see half a file.
 * Temporary files live in `<root>/.incoming/`, outside every bucket (bucket names cannot start
 * with "."), so no listing, prefix download or /files request can see one.
 */
import { constants, createReadStream } from "node:fs";
import { copyFile, link, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { pipeline as pipe } from "node:stream/promises";
import { copyFileSync, createWriteStream, mkdirSync, renameSync, rmSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { contentTypeFor } from "../../../pipeline/content-types.js";
import type { ObjectInfo, ObjectStore } from "../../ports.js";

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const TEMP_SUFFIX = ".spaceport-tmp";
/** Beside the bucket folders, never inside one. */
export const INCOMING_DIR = ".incoming";


export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(
    root: string,
    private readonly options: {
      /** Where the local runtime serves the data dir over HTTP (`http://127.0.0.1:8787/files`): `<base>/<bucket>/<key>`. Without it, file:// URLs. */
      readonly publicBaseUrl?: string;
    } = {},
  ) {
    this.root = resolve(root);
  }

  /** A fresh temporary file on the same file system as the buckets (so rename is atomic), outside them. */
  private async tempFile(): Promise<string> {
    const dir = join(this.root, INCOMING_DIR);
    await mkdir(dir, { recursive: true });
    return join(dir, `${Date.now()}-${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
  }

  /** The file of an object; throws for bucket names or keys that are not allowed. */
  path(bucket: string, key: string): string {
    if (!BUCKET.test(bucket)) throw new Error(`invalid bucket name "${bucket}"`);
    if (key === "" || key.startsWith("/") || key.includes("\\") || key.includes("\0")) throw new Error(`invalid object key "${key}"`);
    if (key.split("/").some((segment) => segment === "." || segment === ".." || segment === "")) {
      throw new Error(`invalid object key "${key}": no '.', '..' or empty segments`);
    }
    if (key.endsWith(TEMP_SUFFIX)) throw new Error(`invalid object key "${key}"`);
    const bucketDir = join(this.root, bucket);
    const file = resolve(bucketDir, key);
    const rel = relative(bucketDir, file);
    if (rel.startsWith("..") || rel.startsWith(sep) || rel === "") throw new Error(`object key "${key}" leaves its bucket`);
    return file;
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.path(bucket, key));
      if (!info.isFile()) return undefined;
      return { size: info.size, lastModified: info.mtime, contentType: contentTypeFor(key) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    try {
      return await readFile(this.path(bucket, key), "utf8");
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === "EISDIR") return undefined;
      throw error;
    }
  }

  async putText(bucket: string, key: string, body: string): Promise<void> {
    const file = this.path(bucket, key);
    await mkdir(dirname(file), { recursive: true });
    const temp = await this.tempFile();
    await writeFile(temp, body, "utf8");
    await rename(temp, file);
  }

  async putTextIfAbsent(bucket: string, key: string, body: string): Promise<boolean> {
    const file = this.path(bucket, key);
    await mkdir(dirname(file), { recursive: true });
    // Write a complete temporary file, then hard-link it into place: link() fails if the
    // name exists, atomically, and readers never see a partial record.
    const temp = await this.tempFile();
    await writeFile(temp, body, "utf8");
    try {
      await link(temp, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      if ((error as NodeJS.ErrnoException).code === "EPERM" || (error as NodeJS.ErrnoException).code === "ENOTSUP") {
        // File systems without hard links: exclusive create.
        try {
          const handle = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
          await handle.writeFile(body, "utf8");
          await handle.close();
          return true;
        } catch (inner) {
          if ((inner as NodeJS.ErrnoException).code === "EEXIST") return false;
          throw inner;
        }
      }
      throw error;
    } finally {
      await unlink(temp).catch(() => {});
    }
  }

  async copyIfAbsent(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<boolean> {
    const source = this.path(from.bucket, from.key);
    const target = this.path(to.bucket, to.key);
    if (source === target) return false;
    await mkdir(dirname(target), { recursive: true });
    const temp = await this.tempFile();
    try {
      await copyFile(source, temp);
      await link(temp, target); // fails with EEXIST, atomically, when another copy won
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    } finally {
      await unlink(temp).catch(() => {});
    }
  }

  /** Copies a local file in as an object (temporary file, then rename: never half an object). */
  putFileSync(bucket: string, key: string, source: string): void {
    const file = this.path(bucket, key);
    mkdirSync(dirname(file), { recursive: true });
    const temp = join(this.root, INCOMING_DIR, `${Date.now()}-${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
    mkdirSync(dirname(temp), { recursive: true });
    try {
      copyFileSync(source, temp);
      renameSync(temp, file);
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /**
   * Streams `source` into a temporary file and renames it into place only once the stream ended
   * whole: an upload cut off halfway leaves nothing under its name (and no temporary file).
   */
  async putStream(bucket: string, key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const file = this.path(bucket, key);
    await mkdir(dirname(file), { recursive: true });
    const temp = await this.tempFile();
    let size = 0;
    try {
      await pipe(
        source,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(temp, { flags: "wx" }),
      );
      await rename(temp, file);
      return size;
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  }

  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    if (!BUCKET.test(bucket)) throw new Error(`invalid bucket name "${bucket}"`);
    const bucketDir = join(this.root, bucket);
    // Walk from the deepest folder the prefix names, then filter by the full prefix (S3 semantics).
    const folder = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    if (folder.split("/").some((s) => s === ".." || s === ".")) return [];
    const found: { key: string; size: number }[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error) || (error as NodeJS.ErrnoException).code === "ENOTDIR") return;
        throw error;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) {
          const key = relative(bucketDir, full).split(sep).join("/");
          if (key.startsWith(prefix)) found.push({ key, size: (await stat(full)).size });
        }
      }
    };
    await walk(folder ? join(bucketDir, ...folder.split("/")) : bucketDir);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async publicUrl(bucket: string, key: string): Promise<string> {
    const file = this.path(bucket, key);
    if (!this.options.publicBaseUrl) return pathToFileURL(file).href;
    const path = [bucket, ...key.split("/")].map(encodeURIComponent).join("/");
    return `${this.options.publicBaseUrl.replace(/\/+$/, "")}/${path}`;
  }

  /** A read stream of an object (for the local runtime's file server). */
  stream(bucket: string, key: string) {
    return createReadStream(this.path(bucket, key));
  }
}

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException)?.code === "ENOENT";
