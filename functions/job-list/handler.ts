/**
 * job-list: `GET /jobs` → the caller's own jobs, newest first (at most JOB_LIST_LIMIT), each
 * with its id and submission time; `GET /jobs/{id}` gives the rest. start-job keeps one small
 * index object per job and client, `clients/<client>/jobs/<jobId>`, so listing is one S3 list of
 * the caller's own prefix: no other client's jobs are read, and no execution is described.
 * The index lives as long as the jobs (the stack's lifecycle rule for `clients/`).
 */
import { JOB_ID } from "../../pipeline/layout.js";
import type { FunctionConfig } from "../config.js";
import type { RouteContext, RouteResult } from "../http.js";
import type { ObjectStore } from "../ports.js";

export const CLIENT_JOBS_PREFIX = "clients/";
/** Newest jobs answered by one `GET /jobs`. */
export const JOB_LIST_LIMIT = 50;

const clientJobsPrefix = (client: string): string => `${CLIENT_JOBS_PREFIX}${client}/jobs/`;
export const clientJobKey = (client: string, jobId: string): string => `${clientJobsPrefix(client)}${jobId}`;

export interface ListedJob {
  readonly jobId: string;
  readonly submittedAt: string;
}

/** Written by start-job once the job's execution exists (a retried request writes the same). */
export async function recordClientJob(store: ObjectStore, bucket: string, client: string, job: ListedJob): Promise<void> {
  await store.putText(bucket, clientJobKey(client, job.jobId), JSON.stringify(job), "application/json");
}

export async function listJobs(context: RouteContext, deps: { readonly store: ObjectStore }, config: FunctionConfig): Promise<RouteResult> {
  const prefix = clientJobsPrefix(context.client);
  const ids = (await deps.store.list(config.processingBucket, prefix))
    .map((o) => o.key.slice(prefix.length))
    .filter((id) => JOB_ID.test(id))
    // Job ids begin with their UTC submission time (yyyymmdd-hhmmss): newest first by name.
    .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
    .slice(0, JOB_LIST_LIMIT);
  const jobs: ListedJob[] = ids.map((jobId) => ({ jobId, submittedAt: submittedAtOf(jobId) }));
  return { status: 200, body: { jobs, limit: JOB_LIST_LIMIT } };
}

/** `20261126-093012-1a2b3c4d` → `2026-11-26T09:30:12Z`. */
function submittedAtOf(jobId: string): string {
  const [d = "", t = ""] = jobId.split("-");
  return `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}T${t.slice(0, 2)}:${t.slice(2, 4)}:${t.slice(4, 6)}Z`;
}
