/**
 * retry: `POST /jobs/{id}/retry` reruns the caller's failed or cancelled job from the stage that
 * did not finish (RedriveExecution): finished stages are not run again and their outputs are
 * reused; the failed stage runs under its next attempt number, so a fresh SageMaker job name
 * (the compiled "Job failed" gate sends a redriven job to that stage's "Prepare" state).
 */
import type { FunctionConfig } from "../config.js";
import { ApiError } from "../errors.js";
import type { RouteContext, RouteResult } from "../http.js";
import { deriveJobStatus } from "../job-status/derive.js";
import { ownExecution } from "../job-status/handler.js";
import type { Logger } from "../log.js";
import { cancelledMarkerKey, redriveCountOf } from "../markers.js";
import type { Executions, JobControl, ObjectStore } from "../ports.js";
import { statusUrl } from "../start-job/handler.js";

export interface RetryDeps {
  readonly store: ObjectStore;
  readonly executions: Executions;
  readonly control: JobControl;
  readonly log: Logger;
}

export async function retryJob(context: RouteContext, deps: RetryDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await ownExecution(context, deps.executions);
  const jobId = record.name;
  if (record.status === "RUNNING") throw new ApiError(409, "id", `id: job ${jobId} is still running; cancel it first to retry it`);
  if (record.status === "SUCCEEDED") throw new ApiError(409, "id", `id: job ${jobId} has succeeded; there is nothing to retry`);
  const events = await deps.executions.history(jobId);
  const cancelled = await deps.store.getText(config.processingBucket, cancelledMarkerKey(jobId, redriveCountOf(events)));
  const status = await deriveJobStatus(record, events, { pipeline: config.pipeline, ...(cancelled !== undefined ? { cancelledAt: "" } : {}) });
  const from = status.stages.find((s) => s.state === "failed" || s.state === "cancelled")?.name ?? status.stages.find((s) => s.state !== "succeeded")?.name ?? null;
  try {
    await deps.control.redrive(jobId);
  } catch (error) {
    if ((error as Error)?.name === "ExecutionNotRedrivable") {
      throw new ApiError(409, "id", `id: job ${jobId} can no longer be retried (a job can be retried for 14 days); submit its photos again`);
    }
    throw error;
  }
  deps.log("info", "job_retried", { jobId, client: context.client, requestId: context.requestId, from });
  return { status: 202, body: { jobId, state: "running", from, statusUrl: statusUrl(config, jobId) }, headers: { location: statusUrl(config, jobId) } };
}
