/** job-status: `GET /jobs/{id}` → the derived status of the caller's own job. */
import { parseJsonObject } from "../../pipeline/json.js";
import { JOB_ID } from "../../pipeline/layout.js";
import { linkLifetimeOf, type FunctionConfig } from "../config.js";
import { ApiError } from "../errors.js";
import type { RouteContext, RouteResult } from "../http.js";
import type { Logger } from "../log.js";
import type { Executions, ObjectStore, StageProgress } from "../ports.js";
import { notificationState } from "../notify/state.js";
import { deriveJobStatus } from "./derive.js";

export interface JobStatusDeps {
  readonly store: ObjectStore;
  readonly executions: Executions;
  readonly progress?: StageProgress;
  readonly log: Logger;
}

export async function jobStatus(context: RouteContext, deps: JobStatusDeps, config: FunctionConfig): Promise<RouteResult> {
  const id = context.params["id"] ?? "";
  if (!JOB_ID.test(id)) throw new ApiError(400, "id", "id: a job id looks like 20261126-093012-1a2b3c4d");
  const record = await deps.executions.describe(id);
  const notFound = () => new ApiError(404, "id", `id: no job ${id}`);
  if (!record) throw notFound();
  // A client sees only its own jobs; someone else's id is answered as unknown.
  const owner = parseJsonObject(record.input)?.["client"];
  if (owner !== undefined && owner !== context.client) throw notFound();
  const events = await deps.executions.history(id);
  const status = await deriveJobStatus(record, events, {
    pipeline: config.pipeline,
    ...(deps.progress ? { progress: deps.progress } : {}),
    store: deps.store,
    bucket: config.processingBucket,
    linkLifetime: linkLifetimeOf(config),
  });
  const notification = await notificationState(deps.store, config.processingBucket, id, status.state);
  return { status: 200, body: notification ? { ...status, notification } : status };
}
