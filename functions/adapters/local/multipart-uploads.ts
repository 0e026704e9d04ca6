/**
 * MultipartUploads over the local object store, atomic like S3's: parts are kept outside the
 * bucket folders (`<partsDir>/<uploadId>/`), so nothing in a bucket exists until `complete`
 * joins them into a temporary file and renames it into place; `abort` removes the folder and
 * uploads left open longer than a day are swept (the local twin of the bucket's lifecycle
 * rule). Part URLs point at the local server's `PUT /multipart/<uploadId>/<part>` route,
 * signed with HMAC-SHA256 and an expiry like presigned S3 URLs, so a page can PUT them with
 * no API key; `receivePart` checks them.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pipeline as pipe } from "node:stream/promises";
import { ApiError } from "../../errors.js";
import type { MultipartTarget, MultipartUploads, UploadedPart } from "../../ports.js";
import type { LocalObjectStore } from "./object-store.js";

const UPLOAD_ID = /^[0-9a-f]{32}$/;
const PART_FILE = /^(\d{1,5})\.([0-9a-f]{32})\.part$/;
export const ABANDONED_AFTER_MS = 24 * 3600 * 1000;
export const MULTIPART_ROUTE = "/multipart/";

export interface LocalMultipartOptions {
  /** The local server's base URL (`http://127.0.0.1:8787`): part URLs are `<base>/multipart/<id>/<n>?…`. */
  readonly baseUrl: string;
  /** HMAC key of the part URLs (random per server when not given). */
  readonly secret?: Buffer;
  /** Largest part body accepted (S3: 5 GiB). */
  readonly maxPartBytes: number;
  readonly now?: () => number;
}

interface Meta {
  readonly bucket: string;
  readonly key: string;
  readonly createdAt: number;
}

export class LocalMultipartUploads implements MultipartUploads {
  private readonly secret: Buffer;
  private readonly now: () => number;

  constructor(
    private readonly store: LocalObjectStore,
    /** Where open uploads keep their parts: not inside a bucket folder. */
    readonly partsDir: string,
    private readonly options: LocalMultipartOptions,
  ) {
    this.secret = options.secret ?? randomBytes(32);
    this.now = options.now ?? Date.now;
  }

  async create(bucket: string, key: string): Promise<string> {
    this.store.path(bucket, key); // refuses keys that could leave their bucket
    await this.sweep();
    const uploadId = randomBytes(16).toString("hex");
    await mkdir(this.dir(uploadId), { recursive: true });
    const meta: Meta = { bucket, key, createdAt: this.now() };
    await writeFile(join(this.dir(uploadId), "upload.json"), JSON.stringify(meta));
    return uploadId;
  }

  async partUrls(target: MultipartTarget, partNumbers: readonly number[], expiresSeconds: number): Promise<string[]> {
    const expires = Math.floor(this.now() / 1000) + expiresSeconds;
    const base = this.options.baseUrl.replace(/\/+$/, "");
    return partNumbers.map((n) => `${base}${MULTIPART_ROUTE}${target.uploadId}/${n}?expires=${expires}&signature=${this.sign(target.uploadId, n, expires)}`);
  }

  /** Stores one part's body (replacing an earlier copy of that part); answers its ETag. */
  async receivePart(uploadId: string, partNumber: number, query: URLSearchParams, body: AsyncIterable<Buffer>): Promise<string> {
    const expires = Number(query.get("expires"));
    const given = Buffer.from(query.get("signature") ?? "", "hex");
    const wanted = Buffer.from(this.sign(uploadId, partNumber, expires), "hex");
    if (!UPLOAD_ID.test(uploadId) || !Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000 || given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      throw new ApiError(403, "signature", "this part URL is not valid: ask the API for a new one");
    }
    if (!(expires * 1000 > this.now())) throw new ApiError(403, "expires", "this part URL has expired: ask the API for a new one");
    if (!(await this.meta(uploadId))) throw new ApiError(404, "id", "no such upload: it was completed, aborted or has expired");
    const temp = join(this.dir(uploadId), `${partNumber}.${randomBytes(4).toString("hex")}.tmp`);
    const md5 = createHash("md5");
    let size = 0;
    const limit = this.options.maxPartBytes;
    try {
      await pipe(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > limit) throw new ApiError(413, "body", `a part may have at most ${limit} bytes`);
            md5.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(temp),
      );
      const etag = md5.digest("hex");
      await rename(temp, join(this.dir(uploadId), `${partNumber}.${etag}.part`));
      await this.dropOtherCopies(uploadId, partNumber, etag);
      return `"${etag}"`;
    } finally {
      await unlink(temp).catch(() => {});
    }
  }

  async listParts(target: MultipartTarget): Promise<UploadedPart[] | undefined> {
    if (!(await this.meta(target.uploadId))) return undefined;
    const parts = new Map<number, UploadedPart & { mtime: number }>();
    for (const name of await readdir(this.dir(target.uploadId))) {
      const match = PART_FILE.exec(name);
      if (!match) continue;
      const info = await stat(join(this.dir(target.uploadId), name)).catch(() => undefined);
      if (!info) continue;
      const partNumber = Number(match[1]);
      const earlier = parts.get(partNumber);
      if (!earlier || info.mtimeMs > earlier.mtime) parts.set(partNumber, { partNumber, size: info.size, etag: `"${match[2]}"`, mtime: info.mtimeMs });
    }
    return [...parts.values()].sort((a, b) => a.partNumber - b.partNumber).map(({ partNumber, size, etag }) => ({ partNumber, size, etag }));
  }

  async complete(target: MultipartTarget, parts: readonly UploadedPart[]): Promise<void> {
    const meta = await this.meta(target.uploadId);
    if (!meta || meta.bucket !== target.bucket || meta.key !== target.key) throw new ApiError(404, "id", "no such upload");
    const file = this.store.path(target.bucket, target.key);
    await mkdir(dirname(file), { recursive: true });
    // The object store's temporary-file suffix: list() never shows it, rename() makes it whole at once.
    const temp = `${file}.${randomBytes(4).toString("hex")}.spaceport-tmp`;
    try {
      const partFiles = parts.map((part) => join(this.dir(target.uploadId), `${part.partNumber}.${part.etag.replace(/"/g, "")}.part`));
      // One pipeline for all parts, in order: a pipeline per part onto one open stream would leave its listeners behind.
      await pipe(async function* () {
        for (const partFile of partFiles) yield* createReadStream(partFile);
      }, createWriteStream(temp));
      await rename(temp, file);
    } finally {
      await unlink(temp).catch(() => {});
    }
    await rm(this.dir(target.uploadId), { recursive: true, force: true });
  }

  async abort(target: MultipartTarget): Promise<void> {
    if (!UPLOAD_ID.test(target.uploadId)) return;
    await rm(this.dir(target.uploadId), { recursive: true, force: true });
  }

  /** Removes uploads left open longer than a day (their parts; no object ever existed). */
  async sweep(): Promise<string[]> {
    const removed: string[] = [];
    const entries = await readdir(this.partsDir).catch(() => [] as string[]);
    for (const id of entries) {
      const meta = UPLOAD_ID.test(id) ? await this.meta(id) : undefined;
      // Without its record (a create cut short), the folder's own age decides.
      const createdAt = meta?.createdAt ?? (await stat(join(this.partsDir, id)).catch(() => undefined))?.mtimeMs ?? 0;
      if (this.now() - createdAt <= ABANDONED_AFTER_MS) continue;
      await rm(join(this.partsDir, id), { recursive: true, force: true });
      removed.push(id);
    }
    return removed;
  }

  private dir(uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new ApiError(404, "id", "no such upload");
    return join(this.partsDir, uploadId);
  }

  private async meta(uploadId: string): Promise<Meta | undefined> {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    const text = await readFile(join(this.dir(uploadId), "upload.json"), "utf8").catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as Meta);
  }

  private async dropOtherCopies(uploadId: string, partNumber: number, keep: string): Promise<void> {
    for (const name of await readdir(this.dir(uploadId))) {
      const match = PART_FILE.exec(name);
      if (match && Number(match[1]) === partNumber && match[2] !== keep) await unlink(join(this.dir(uploadId), name)).catch(() => {});
    }
  }

  private sign(uploadId: string, partNumber: number, expires: number): string {
    return createHmac("sha256", this.secret).update(`${uploadId}\n${partNumber}\n${expires}`).digest("hex");
  }
}
