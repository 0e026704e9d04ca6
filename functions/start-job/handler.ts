/**
 * start-job: validate everything, copy the ZIP into the job's own prefix, start one execution
 * named after the job id. Nothing is started before every check has passed.
 *
 * Idempotency (functions/README.md): the `Idempotency-Key` header, or, without one, the same
 * body from the same client within `dedupeWindowSeconds`, maps to one job id through a record
 * `idempotency/<sha256(client, key)>.json` created with `putTextIfAbsent`; the execution name
 * is the job id, and its input is rebuilt from the record, so retries cannot start a second
 * execution. A repeat is answered with the job while it runs or once it succeeded; a job that
 * failed, timed out or was cancelled does not block a new one: the repeat takes the record's
 * next generation (`<hash>.<n>.json`, created the same way) and starts a new job, saying which
 * job it reruns.
 */
import { createHash, randomBytes } from "node:crypto";
import { admissionLimit, queueWarning } from "../../pipeline/capacity.js";
import { jobInputKey, newJobId } from "../../pipeline/layout.js";
import { recordClientJob } from "../job-list/handler.js";
import type { FunctionConfig } from "../config.js";
import { ApiError } from "../errors.js";
import { maskEmail, type Logger } from "../log.js";
import { deriveJobStatus } from "../job-status/derive.js";
import type { ExecutionInput, ExecutionRecord, Executions, ObjectStore } from "../ports.js";
import type { RouteContext, RouteResult } from "../http.js";
import { parseInputLocation, type InputLocation } from "./input-location.js";
import { parseStartJobBody } from "./schema.js";

export interface StartJobDeps {
  readonly store: ObjectStore;
  readonly executions: Executions;
  readonly log: Logger;
  readonly now?: () => Date;
  readonly randomHex8?: () => string;
}

/** What the idempotency record holds: enough to rebuild the execution input exactly. */
interface IdempotencyRecord {
  readonly jobId: string;
  readonly requestHash: string;
  readonly client: string;
  readonly createdAt: string;
  readonly input: InputLocation;
  readonly email: string;
  readonly options: Record<string, string>;
}

export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** Folders of the processing bucket, outside `jobs/`, where start-job keeps its own records. */
export const IDEMPOTENCY_PREFIX = "idempotency/";
export const DAILY_COUNT_PREFIX = "quota/";
/** Generation 0 is the first job of a key; each rerun after a failure takes the next. */
export const idempotencyRecordKey = (client: string, key: string, generation = 0): string =>
  `${IDEMPOTENCY_PREFIX}${createHash("sha256").update(`${client}\n${key}`).digest("hex")}${generation > 0 ? `.${generation}` : ""}.json`;
export const dailyCountPrefix = (client: string, day: string): string => `${DAILY_COUNT_PREFIX}${client}/${day}/`;
/** Reruns of one request under one key (a bound on the walk, far above what a person retries). */
const MAX_GENERATIONS = 100;
const ENDED_UNSUCCESSFULLY: ReadonlySet<string> = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

export async function startJob(context: RouteContext, deps: StartJobDeps, config: FunctionConfig, legacy = false): Promise<RouteResult> {
  const now = deps.now?.() ?? new Date();
  const field = legacy ? "s3Url" : "input";
  const body = parseStartJobBody(context.body, config.pipeline, legacy);
  const location = parseInputLocation(body.input, field);
  const allowed = new Set([...(config.uploadsBucket ? [config.uploadsBucket] : []), ...config.env.allowedInputBuckets]);
  if (!allowed.has(location.bucket)) {
    throw new ApiError(403, field, `${field}: bucket "${location.bucket}" is not one this service reads from`);
  }

  const headerKey = context.headers["idempotency-key"];
  if (headerKey !== undefined && !IDEMPOTENCY_KEY.test(headerKey)) {
    throw new ApiError(400, "Idempotency-Key", "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces");
  }
  const request = { input: { bucket: location.bucket, key: location.key }, email: body.email, options: sortKeys(body.options) };
  const requestHash = sha256(JSON.stringify(request));
  const idemKey =
    headerKey !== undefined
      ? `key:${headerKey}`
      : `auto:${requestHash}:${Math.floor(now.getTime() / 1000 / config.dedupeWindowSeconds)}`;
  const bucket = config.processingBucket;
  const current = await currentGeneration(deps, config, context.client, idemKey, requestHash);
  if (current.live) return replayed(current.live.record, current.live.status, config, deps, context);
  const { recordKey, rerunOf } = current;
  let record = current.record;

  // Checks that cost nothing, before anything is written.
  const info = await deps.store.head(location.bucket, location.key);
  if (!info) throw new ApiError(400, field, `${field}: no object s3://${location.bucket}/${location.key} was found`);
  if (info.size > config.env.maxInputBytes) {
    throw new ApiError(413, field, `${field}: the ZIP is ${info.size} bytes; the limit is ${config.env.maxInputBytes} bytes`);
  }
  if (info.size === 0) throw new ApiError(400, field, `${field}: the ZIP is empty`);

  record ??= await claimJobId({ deps, config, context, now, recordKey, requestHash, request });

  const jobId = record.jobId;
  const inputKey = jobInputKey(jobId);
  const warning = await backlogWarning(deps, config);
  // Every concurrent retry gets here; the first copy wins and the others write nothing.
  await deps.store.copyIfAbsent({ bucket: record.input.bucket, key: record.input.key }, { bucket, key: inputKey });
  const executionInput: ExecutionInput = {
    jobId,
    inputUri: `s3://${bucket}/${inputKey}`,
    email: record.email,
    options: record.options,
    client: record.client,
  };
  const { started } = await deps.executions.start(jobId, JSON.stringify(executionInput));
  // The caller's job list (GET /jobs) finds it from here on.
  await recordClientJob(deps.store, bucket, record.client, { jobId, submittedAt: record.createdAt });
  deps.log("info", started ? "job_started" : "job_already_started", {
    jobId,
    client: context.client,
    requestId: context.requestId,
    email: maskEmail(record.email),
    inputBucket: record.input.bucket,
    inputBytes: info.size,
    options: record.options,
  });
  return {
    status: started ? 202 : 200,
    body: {
      jobId,
      ...(started ? { state: "queued" } : {}),
      statusUrl: statusUrl(config, jobId),
      options: record.options,
      // Which job this one reruns (the same request, whose job failed or was cancelled).
      ...(rerunOf ? { rerunOf } : {}),
      ...(started && warning ? { warning } : {}),
    },
    headers: { location: statusUrl(config, jobId), ...(started ? {} : { "idempotent-replayed": "true" }) },
  };
}

/** A warning when the jobs already running are more than a day of work (the port may not count). */
async function backlogWarning(deps: StartJobDeps, config: FunctionConfig): Promise<string | undefined> {
  if (!deps.executions.countRunning) return undefined;
  const { capacityPerDay } = admissionLimit(config.pipeline, config.env);
  if (!Number.isFinite(capacityPerDay)) return undefined;
  // Counting stops past a week of work: the warning is the same from there on.
  const ahead = await deps.executions.countRunning(capacityPerDay * 7);
  return queueWarning(ahead, capacityPerDay);
}

interface Claim {
  readonly deps: StartJobDeps;
  readonly config: FunctionConfig;
  readonly context: RouteContext;
  readonly now: Date;
  readonly recordKey: string;
  readonly requestHash: string;
  readonly request: { input: { bucket: string; key: string }; email: string; options: Record<string, string> };
}

/** A new job id for a request within the client's daily limit, recorded once however many retries race for it. */
async function claimJobId({ deps, config, context, now, recordKey, requestHash, request }: Claim): Promise<IdempotencyRecord> {
  const bucket = config.processingBucket;
  const day = now.toISOString().slice(0, 10);
  const countPrefix = dailyCountPrefix(context.client, day);
  const today = await deps.store.list(bucket, countPrefix);
  const { jobsPerDay } = admissionLimit(config.pipeline, config.env);
  if (today.length >= jobsPerDay) {
    throw new ApiError(429, "client", `daily job limit reached (${jobsPerDay} jobs per day for this API key)`, "rate_limited", {
      "retry-after": String(secondsToMidnight(now)),
    });
  }
  const candidate: IdempotencyRecord = {
    jobId: newJobId(now, deps.randomHex8?.() ?? randomBytes(4).toString("hex")),
    requestHash,
    client: context.client,
    createdAt: now.toISOString(),
    input: request.input,
    email: request.email,
    options: request.options,
  };
  const created = await deps.store.putTextIfAbsent(bucket, recordKey, JSON.stringify(candidate), "application/json");
  if (created) {
    await deps.store.putText(bucket, `${countPrefix}${candidate.jobId}`, candidate.createdAt, "text/plain");
    return candidate;
  }
  // A concurrent retry won the race: its job is this request's job.
  const record = await readRecord(deps.store, bucket, recordKey);
  if (!record) throw new Error(`idempotency record ${recordKey} exists but cannot be read`);
  if (record.requestHash !== requestHash) {
    throw new ApiError(409, "Idempotency-Key", `this Idempotency-Key was used for a different request (job ${record.jobId})`);
  }
  return record;
}

function replayed(record: IdempotencyRecord, status: string, config: FunctionConfig, deps: StartJobDeps, context: RouteContext): RouteResult {
  deps.log("info", "job_request_replayed", { jobId: record.jobId, client: context.client, requestId: context.requestId });
  return {
    status: 200,
    // The same job, still running or already delivered: the status URL tells the rest.
    body: { jobId: record.jobId, replayed: true, state: status === "SUCCEEDED" ? "succeeded" : "running", statusUrl: statusUrl(config, record.jobId), options: record.options },
    headers: { location: statusUrl(config, record.jobId), "idempotent-replayed": "true" },
  };
}

interface Generation {
  readonly recordKey: string;
  /** The record of this generation, when one exists (its job not started yet: a retry after a crash). */
  readonly record?: IdempotencyRecord;
  /** The job of the previous generation, which failed or was cancelled. */
  readonly rerunOf?: string;
  /** A job that runs or succeeded: the answer is that job. */
  readonly live?: { readonly record: IdempotencyRecord; readonly status: string };
}

/** The first generation of a key whose job did not end unsuccessfully (or the first free one). */
async function currentGeneration(deps: StartJobDeps, config: FunctionConfig, client: string, idemKey: string, requestHash: string): Promise<Generation> {
  const bucket = config.processingBucket;
  let rerunOf: string | undefined;
  for (let generation = 0; generation < MAX_GENERATIONS; generation++) {
    const recordKey = idempotencyRecordKey(client, idemKey, generation);
    const record = await readRecord(deps.store, bucket, recordKey);
    if (record && record.requestHash !== requestHash) {
      throw new ApiError(409, "Idempotency-Key", `this Idempotency-Key was used for a different request (job ${record.jobId})`);
    }
    const execution = record ? await deps.executions.describe(record.jobId) : undefined;
    if (!record || !execution) return { recordKey, ...(record ? { record } : {}), ...(rerunOf ? { rerunOf } : {}) };
    if (!(await endedUnsuccessfully(deps, config, execution))) return { recordKey, record, live: { record, status: execution.status } };
    rerunOf = record.jobId;
  }
  throw new ApiError(429, "Idempotency-Key", `this request was rerun ${MAX_GENERATIONS} times; send it with a new Idempotency-Key`, "rate_limited");
}

/** The job failed, timed out or was cancelled: also while its execution still sends the failure email. */
async function endedUnsuccessfully(deps: StartJobDeps, config: FunctionConfig, execution: ExecutionRecord): Promise<boolean> {
  if (ENDED_UNSUCCESSFULLY.has(execution.status)) return true;
  if (execution.status !== "RUNNING") return false;
  const status = await deriveJobStatus(execution, await deps.executions.history(execution.name), { pipeline: config.pipeline });
  return status.state === "failed";
}

async function readRecord(store: ObjectStore, bucket: string, key: string): Promise<IdempotencyRecord | undefined> {
  const text = await store.getText(bucket, key);
  if (text === undefined) return undefined;
  return JSON.parse(text) as IdempotencyRecord;
}

export const statusUrl = (config: FunctionConfig, jobId: string): string => `${config.apiBaseUrl ?? ""}/jobs/${jobId}`;
const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");
const sortKeys = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
function secondsToMidnight(now: Date): number {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
}
