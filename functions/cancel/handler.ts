/**
 * cancel: `POST /jobs/{id}/cancel` stops the caller's running job: the running stage's SageMaker
 * job (StopProcessingJob / StopTrainingJob), or the execution (StopExecution) while no stage job
 * exists. It records `cancelled` (`jobs/<id>/status/cancelled.json`, created once per round) and
 * the request that creates it emails the submitter, once; notify sends no failure email for a
 * cancelled round. The input and finished stages' outputs are not touched, so the job can be
 * retried. A repeated cancel answers the same; a job that has already ended otherwise is a 409.
 */
import type { FunctionConfig } from "../config.js";
import { ApiError } from "../errors.js";
import { stageLabel } from "../failure.js";
import type { RouteContext, RouteResult } from "../http.js";
import { deriveJobStatus } from "../job-status/derive.js";
import { ownExecution } from "../job-status/handler.js";
import { maskEmail, type Logger } from "../log.js";
import { cancelledMarkerKey, redriveCountOf } from "../markers.js";
import { notificationKey, readNotification, type NotificationRecord } from "../notify/state.js";
import { renderCancelledEmail } from "../notify/templates.js";
import type { ExecutionInput, Executions, JobControl, Mailer, ObjectStore } from "../ports.js";

export interface CancelDeps {
  readonly store: ObjectStore;
  readonly executions: Executions;
  readonly control: JobControl;
  readonly mailer: Mailer;
  readonly log: Logger;
  readonly now?: () => Date;
}

export async function cancelJob(context: RouteContext, deps: CancelDeps, config: FunctionConfig): Promise<RouteResult> {
  const record = await ownExecution(context, deps.executions);
  const jobId = record.name;
  const bucket = config.processingBucket;
  const events = await deps.executions.history(jobId);
  const round = redriveCountOf(events);
  const markerKey = cancelledMarkerKey(jobId, round);
  const marker = await deps.store.getText(bucket, markerKey);
  const answer = (stage: string | null): RouteResult => ({ status: 202, body: { jobId, state: "cancelled", stage } });
  if (record.status !== "RUNNING") {
    if (marker !== undefined) return answer(stageOf(marker));
    throw new ApiError(409, "id", `id: job ${jobId} has already ${record.status === "SUCCEEDED" ? "succeeded" : "ended"}; there is nothing to cancel`);
  }

  const status = await deriveJobStatus(record, events, { pipeline: config.pipeline });
  const running = status.stages.find((s) => s.state === "running");
  const by = context.client;
  // Recorded before anything stops, so the failure branch the stopped stage takes knows not to mail.
  const created = await deps.store.putTextIfAbsent(
    bucket,
    markerKey,
    JSON.stringify({ cancelledAt: (deps.now?.() ?? new Date()).toISOString(), by, stage: running?.name ?? null }),
    "application/json",
  );
  // With a stage job running, stopping that job ends the execution through its failure branch
  // at "Job failed", where a retry can pick it up under a fresh job name. Without one (queued,
  // waiting for quota), the execution itself is stopped.
  // A preview running beside the stage (its early run) is stopped first, so it delivers nothing more.
  if (status.preview?.state === "running" && status.preview.jobName) await deps.control.stopStageJob("processing", status.preview.jobName);
  const stopped = running?.jobName ? await deps.control.stopStageJob(running.kind, running.jobName) : false;
  if (!stopped) await deps.control.stopExecution(jobId, `cancelled by ${by}`);
  deps.log("info", "job_cancelled", { jobId, client: by, requestId: context.requestId, stage: running?.name ?? null });
  if (created) await emailOnce(jobId, record.input, running?.name, round, deps, config);
  return answer(running?.name ?? null);
}

/** The cancellation email; its notification record keeps a retried request from sending it twice. */
async function emailOnce(jobId: string, executionInput: string, stage: string | undefined, round: number, deps: CancelDeps, config: FunctionConfig): Promise<void> {
  const bucket = config.processingBucket;
  const previous = await readNotification(deps.store, bucket, jobId, "cancelled", round);
  if (previous?.state === "sent") return;
  const at = () => (deps.now?.() ?? new Date()).toISOString();
  const record = (fields: Omit<NotificationRecord, "attempts" | "updatedAt">) =>
    deps.store.putText(bucket, notificationKey(jobId, "cancelled", round), JSON.stringify({ ...fields, attempts: (previous?.attempts ?? 0) + 1, updatedAt: at() }), "application/json");
  const { email } = JSON.parse(executionInput) as ExecutionInput;
  const rendered = renderCancelledEmail({ jobId, ...(stage ? { stage: stageLabel(config.pipeline, stage) } : {}) });
  try {
    const { messageId } = await deps.mailer.send({ to: email, subject: rendered.subject, html: rendered.html, text: rendered.text, jobId });
    await record({ state: "sent", messageId, sentAt: at() });
    deps.log("info", "email_sent", { jobId, status: "cancelled", email: maskEmail(email), messageId });
  } catch (error) {
    // The job is cancelled either way; the send failure is logged for the alarm and shown as
    // the job's notification, not answered as a 5xx.
    const message = String((error as Error)?.message ?? error);
    await record({ state: "failed", lastError: message.slice(0, 300) });
    deps.log("error", "email_send_failed", { jobId, status: "cancelled", email: maskEmail(email), error: (error as Error)?.name, message });
  }
}

function stageOf(marker: string): string | null {
  try {
    const stage = (JSON.parse(marker) as { stage?: unknown }).stage;
    return typeof stage === "string" ? stage : null;
  } catch {
    return null;
  }
}
