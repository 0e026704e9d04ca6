/** job-status: `GET /jobs/{id}` → the derived status of the caller's own job. */
import { parseJsonObject } from "../../pipeline/json.js";
import { JOB_ID } from "../../pipeline/layout.js";
import { linkLifetimeOf, type FunctionConfig } from "../config.js";
import { ApiError } from "../errors.js";
import type { RouteContext, RouteResult } from "../http.js";
import type { Logger } from "../log.js";
import { cancelledMarkerKey, redriveCountOf } from "../markers.js";
import { notificationState } from "../notify/state.js";
import type { ExecutionRecord, Executions, ObjectStore, StageProgress } from "../ports.js";
import { deriveJobStatus } from "./derive.js";

export interface JobStatusDeps {
  readonly store: ObjectStore;
  readonly executions: Executions;
  readonly progress?: StageProgress;
  readonly log: Logger;
}

/** The execution of the caller's own job; a wrong id, an unknown one or someone else's is a 4xx naming `id`. */
export async function ownExecution(context: RouteContext, executions: Executions): Promise<ExecutionRecord> {
  const id = context.params["id"] ?? "";
  if (!JOB_ID.test(id)) throw new ApiError(400, "id", "id: a job id looks like 20261126-093012-1a2b3c4d");
  const record = await executions.describe(id);
  const notFound = () => new ApiError(404, "id", `id: no job ${id}`);
  if (!record) throw notFound();
  // A client sees only its own jobs; someone else's id is answered as unknown.
  const owner = parseJsonObject(record.input)?.["client"];
  if (owner !== undefined && owner !== context.client) throw notFound();
  return record;
}

export async function jobStatus(context: RouteContext, deps: JobStatusDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await ownExecution(context, deps.executions);
  const events = await deps.executions.history(record.name);
  // Only an ended execution can be a cancelled job: the marker of this round (retries are rounds).
  const ended = record.status === "ABORTED" || record.status === "FAILED";
  const round = redriveCountOf(events);
  const cancelled = ended ? await deps.store.getText(config.processingBucket, cancelledMarkerKey(record.name, round)) : undefined;
  const status = await deriveJobStatus(record, events, {
    pipeline: config.pipeline,
    ...(deps.progress ? { progress: deps.progress } : {}),
    store: deps.store,
    bucket: config.processingBucket,
    linkLifetime: linkLifetimeOf(config),
    ...(cancelled !== undefined ? { cancelledAt: cancelledAt(cancelled) } : {}),
  });
  const notification = await notificationState(deps.store, config.processingBucket, record.name, status.state, round);
  // The address the job's emails go to: the caller's own job, so its own data.
  const email = (JSON.parse(record.input) as { email?: unknown }).email;
  return { status: 200, body: { ...status, ...(notification ? { notification } : {}), ...(typeof email === "string" ? { email } : {}) } };
}

function cancelledAt(marker: string): string {
  try {
    const at = (JSON.parse(marker) as { cancelledAt?: unknown }).cancelledAt;
    return typeof at === "string" ? at : "";
  } catch {
    return "";
  }
}
