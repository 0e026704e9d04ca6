/**
 * The uploads API: a browser sends a photos ZIP straight to the uploads bucket in parts.
 *   POST   /uploads                {name, size}       → 201 session + the first part URLs
 *   POST   /uploads/{id}/parts     {partNumbers}      → URLs for those parts + what has arrived
 *   GET    /uploads/{id}                              → the session + what has arrived (resume)
 *   POST   /uploads/{id}/complete                     → {input: "s3://…"} (what POST /jobs takes)
 *   DELETE /uploads/{id}                              → aborted: nothing is left
 * The session record (`uploads/<id>.json` in the processing bucket) ties the id to its client,
 * object key and part plan, so a client can only touch its own uploads and `complete` checks
 * every part against the announced size: nothing above `maxInputBytes` becomes an object.
 */
import { randomBytes } from "node:crypto";
import type { FunctionConfig } from "../config.js";
import { ApiError } from "../errors.js";
import type { RouteContext, RouteResult } from "../http.js";
import type { Logger } from "../log.js";
import type { MultipartTarget, MultipartUploads, ObjectStore, UploadedPart } from "../ports.js";
import { checkParts, MAX_URLS_PER_REQUEST, planParts, type PartPlan } from "./parts.js";
import { parsePartNumbers, parseStartUploadBody } from "./schema.js";

export interface UploadsDeps {
  readonly store: ObjectStore;
  readonly uploads: MultipartUploads;
  readonly log: Logger;
  readonly now?: () => Date;
}

export type UploadState = "open" | "completed" | "aborted";

interface UploadRecord extends PartPlan {
  readonly id: string;
  readonly client: string;
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly createdAt: string;
  readonly state: UploadState;
}

export const UPLOAD_ID = /^[0-9a-f]{32}$/;
/** Presigned part URLs live this long; the page asks again for parts it has not sent by then. */
export const PART_URL_SECONDS = 3600;
/** Where the session records are (processing bucket) and the uploaded ZIPs (uploads bucket): the stack's IAM scopes to these. */
export const UPLOAD_RECORD_PREFIX = "uploads/";
export const UPLOAD_OBJECT_PREFIX = "uploads/";
export const uploadRecordKey = (id: string): string => `${UPLOAD_RECORD_PREFIX}${id}.json`;

export async function startUpload(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<RouteResult> {
  const bucket = config.uploadsBucket;
  if (!bucket) throw new ApiError(404, "path", "this deployment has no uploads bucket");
  const body = parseStartUploadBody(context.body);
  if (body.size > config.env.maxInputBytes) {
    throw new ApiError(413, "size", `size: the ZIP is ${body.size} bytes; the limit is ${config.env.maxInputBytes} bytes`);
  }
  const now = deps.now?.() ?? new Date();
  const id = randomBytes(16).toString("hex");
  const key = `${UPLOAD_OBJECT_PREFIX}${context.client}/${now.toISOString().slice(0, 10)}/${id}/${body.name}`;
  const uploadId = await deps.uploads.create(bucket, key, "application/zip");
  const record: UploadRecord = { id, client: context.client, name: body.name, bucket, key, uploadId, createdAt: now.toISOString(), state: "open", ...planParts(body.size) };
  await deps.store.putText(config.processingBucket, uploadRecordKey(id), JSON.stringify(record), "application/json");
  const first = Array.from({ length: Math.min(record.partCount, MAX_URLS_PER_REQUEST) }, (_, i) => i + 1);
  deps.log("info", "upload_started", { uploadId: id, client: context.client, size: record.size, parts: record.partCount });
  return { status: 201, body: { ...session(record), ...(await urls(deps, record, first, now)), uploaded: [] } };
}

export async function uploadPartUrls(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await openRecord(context, deps, config);
  const numbers = parsePartNumbers(context.body, record.partCount);
  const uploaded = await receivedParts(deps, record);
  return { status: 200, body: { ...session(record), ...(await urls(deps, record, numbers, deps.now?.() ?? new Date())), uploaded } };
}

export async function uploadStatus(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await ownRecord(context, deps, config);
  const uploaded = record.state === "open" ? await receivedParts(deps, record) : [];
  return { status: 200, body: { ...session(record), uploaded, ...(record.state === "completed" ? { input: inputUri(record) } : {}) } };
}

export async function completeUpload(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await ownRecord(context, deps, config);
  // A repeated complete (a retried request) answers the same input.
  if (record.state === "completed") return { status: 200, body: { ...session(record), input: inputUri(record) } };
  if (record.state === "aborted") throw new ApiError(409, "id", `id: upload ${record.id} was aborted; start a new one`);
  const received = await deps.uploads.listParts(target(record));
  if (!received) throw new ApiError(409, "id", `id: upload ${record.id} is no longer open (it expired after a day); start a new one`);
  const check = checkParts(record, received);
  if (!check.ok) throw new ApiError(400, "parts", `parts: ${check.reason}`);
  await deps.uploads.complete(target(record), check.parts);
  const done: UploadRecord = { ...record, state: "completed" };
  await deps.store.putText(config.processingBucket, uploadRecordKey(record.id), JSON.stringify(done), "application/json");
  deps.log("info", "upload_completed", { uploadId: record.id, client: context.client, size: record.size });
  return { status: 200, body: { ...session(done), input: inputUri(done) } };
}

export async function abortUpload(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await ownRecord(context, deps, config);
  if (record.state === "completed") throw new ApiError(409, "id", `id: upload ${record.id} is complete: its ZIP is kept as a job input`);
  if (record.state === "open") {
    await deps.uploads.abort(target(record));
    await deps.store.putText(config.processingBucket, uploadRecordKey(record.id), JSON.stringify({ ...record, state: "aborted" }), "application/json");
    deps.log("info", "upload_aborted", { uploadId: record.id, client: context.client });
  }
  return { status: 200, body: { ...session(record), state: "aborted" } };
}

async function ownRecord(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<UploadRecord> {
  const id = context.params["id"] ?? "";
  if (!UPLOAD_ID.test(id)) throw new ApiError(400, "id", "id: an upload id is 32 hexadecimal digits");
  const text = await deps.store.getText(config.processingBucket, uploadRecordKey(id));
  const record = text === undefined ? undefined : (JSON.parse(text) as UploadRecord);
  // Someone else's upload is answered as unknown, like someone else's job.
  if (!record || record.client !== context.client) throw new ApiError(404, "id", `id: no upload ${id}`);
  return record;
}

async function openRecord(context: RouteContext, deps: UploadsDeps, config: FunctionConfig): Promise<UploadRecord> {
  const record = await ownRecord(context, deps, config);
  if (record.state !== "open") throw new ApiError(409, "id", `id: upload ${record.id} is ${record.state}`);
  return record;
}

async function receivedParts(deps: UploadsDeps, record: UploadRecord): Promise<{ partNumber: number; size: number }[]> {
  const parts: UploadedPart[] = (await deps.uploads.listParts(target(record))) ?? [];
  return parts.map(({ partNumber, size }) => ({ partNumber, size }));
}

async function urls(deps: UploadsDeps, record: UploadRecord, numbers: readonly number[], now: Date) {
  const list = await deps.uploads.partUrls(target(record), numbers, PART_URL_SECONDS);
  return {
    parts: numbers.map((partNumber, i) => ({ partNumber, url: list[i]! })),
    expiresAt: new Date(now.getTime() + PART_URL_SECONDS * 1000).toISOString(),
  };
}

const target = (record: UploadRecord): MultipartTarget => ({ bucket: record.bucket, key: record.key, uploadId: record.uploadId });
const inputUri = (record: UploadRecord): string => `s3://${record.bucket}/${record.key}`;
const session = (record: UploadRecord) => ({
  uploadId: record.id,
  name: record.name,
  size: record.size,
  partSize: record.partSize,
  partCount: record.partCount,
  state: record.state,
  createdAt: record.createdAt,
});
