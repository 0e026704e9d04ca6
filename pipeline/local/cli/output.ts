/**
 * What `run` and `status` print about a job: its stages' SageMaker jobs, quota waits, the
 * failure reason (read as the handlers read it), the delivery and its files, the email. Figures
 * from the stages' own reports come from the composition root (`StageSummary`).
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { failureReason } from "../../../functions/failure.js";
import type { NotificationRecord } from "../../../functions/notify/state.js";
import type { ExecutionEvent, ExecutionRecord } from "../../../functions/ports.js";
import { formatBytes, formatClock, formatTable } from "../../format.js";
import { parseJsonObject, valueAt } from "../../json.js";
import { isPreviewJobName, jobPrefix, stageOutputPrefix } from "../../layout.js";
import { notificationText } from "../notification-text.js";
import type { LocalServices } from "../services.js";
import { viewerFile } from "../services.js";
import type { JobStore } from "../store.js";
import { deliveryWarnings, warningLines } from "../warnings.js";

/** Lines of figures from a finished job's folder (`<bucket>/jobs/<id>`) and its SageMaker job folders. */
export type StageSummary = (jobFolder: string, sageMakerJobFolders: readonly string[]) => string[];

export interface SummaryContext {
  /** `<data>/sagemaker`: the SageMaker job folders and their logs. */
  readonly sagemakerDir: string;
  /** The running services, when the job ran here just now (run); absent for `status`. */
  readonly services?: LocalServices;
  /** The viewer is being served: print its URL rather than its file. */
  readonly serving?: boolean;
  readonly figures?: StageSummary;
  /** The notification of the job's outcome, as recorded (run): what the email line says. */
  readonly notified?: NotificationRecord;
}

const FAILED = new Set(["FAILED", "ABORTED", "TIMED_OUT"]);

export function summarize(store: JobStore, jobId: string, context: SummaryContext): string {
  const record = store.getExecution(jobId);
  if (!record) return `no job ${jobId}`;
  const jobs = store.sageMakerJobsOf(jobId);
  const rows = [["stage", "SageMaker job", "status", "progress", "time"]];
  for (const job of jobs) {
    const progress = store.getProgress(job.name);
    rows.push([isPreviewJobName(job.name) ? `${job.stage} (preview)` : job.stage, job.name, job.status, progress ? `${Math.round(progress.percent)}%` : "", formatClock((job.ended ?? new Date()).getTime() - job.created.getTime())]);
  }
  const took = record.stopDate ? ` after ${formatClock(record.stopDate.getTime() - record.startDate.getTime())}` : "";
  const jobFolder = record.status !== "SUCCEEDED" ? undefined : context.services
    ? context.services.objectStore.path(context.services.buckets.processing, jobPrefix(jobId).slice(0, -1))
    : findJobFolder(join(context.sagemakerDir, "..", "buckets"), jobId);
  const warnings = context.services ? deliveryWarnings(jobFolder, context.services.runtime.pipeline) : [];
  const lines = ["", `job ${jobId}: ${record.status}${warnings.length ? " with warnings" : ""}${took}`, "", formatTable(rows)];
  const history = store.history(jobId);
  const waits = history.filter((e) => e.type === "TaskSubmitFailed" && /ResourceLimitExceeded/.test(e.error ?? "")).length;
  if (waits > 0) lines.push("", `waited for a free instance (quota) ${waits} time${waits === 1 ? "" : "s"}`);
  if (FAILED.has(record.status)) {
    const failure = failureOf(record, history);
    lines.push("", `failed${failure.stage ? ` in stage ${failure.stage}` : ""}: ${failure.reason}`);
    const failed = jobs.find((j) => j.status === "Failed" && !isPreviewJobName(j.name));
    if (failed) lines.push(`log: ${join(context.sagemakerDir, failed.name, "log.txt")}`);
  }
  if (record.status === "SUCCEEDED") {
    if (jobFolder && context.figures) lines.push("", ...context.figures(jobFolder, jobs.map((j) => join(context.sagemakerDir, j.name))));
    lines.push(...warningLines(warnings));
    if (context.services) lines.push(...deliveryLines(context.services, jobId, context.serving === true));
  }
  if (context.services) lines.push(emailLine(context.services, jobId, context.notified));
  return lines.join("\n");
}

/** The stage and reason of a failed job: its "Record <stage> failure" state, else the execution's own error. */
function failureOf(record: ExecutionRecord, history: readonly ExecutionEvent[]): { stage?: string; reason: string } {
  // A preview's failure is a warning of the job, never its failure.
  const recorded = history.findLast((e) => e.type === "PassStateExited" && e.stateName?.startsWith("Record ") && !e.stateName.endsWith(" preview failure") && e.json);
  const failure = valueAt(parseJsonObject(recorded?.json), "failure") as { stage?: string; error?: { Error?: string; Cause?: string } } | undefined;
  if (failure) return { ...(failure.stage ? { stage: failure.stage } : {}), reason: failureReason(failure.error?.Error, failure.error?.Cause) };
  return { reason: failureReason(record.error, record.cause) };
}

function deliveryLines(services: LocalServices, jobId: string, serving: boolean): string[] {
  const { pipeline } = services.runtime;
  const folder = services.objectStore.path(services.buckets.processing, stageOutputPrefix(jobId, pipeline.delivery.output).slice(0, -1));
  const lines = ["", `delivery: ${folder}`];
  if (existsSync(folder)) {
    for (const file of readdirSync(folder).sort()) lines.push(`  ${file.padEnd(16)} ${formatBytes(statSync(join(folder, file)).size)}`);
  }
  lines.push("", `viewer: ${services.viewerUrl(jobId)}`);
  // The email carries the same link: say what serves it once this run has ended.
  if (!serving) lines.push(`        (the email's link; once this run has ended, \`spaceport open ${jobId}\` serves it there; the file: ${join(folder, viewerFile(pipeline))})`);
  return lines;
}

function emailLine(services: LocalServices, jobId: string, notified: NotificationRecord | undefined): string {
  if (notified?.state !== "sent") return `email: ${notificationText({ state: notified?.state, error: notified?.lastError })}`;
  if (services.mailTo === "smtp") return "email: sent over SMTP";
  const emails = existsSync(services.mailTo) ? readdirSync(services.mailTo).filter((f) => f.includes(jobId) && f.endsWith(".eml")).sort() : [];
  return `email: ${emails.length > 0 ? join(services.mailTo, emails.at(-1)!) : `see ${services.mailTo}`}`;
}

/** `<data>/buckets/<bucket>/jobs/<id>` of a job, whichever bucket holds it. */
export function findJobFolder(bucketsDir: string, jobId: string): string | undefined {
  if (!existsSync(bucketsDir)) return undefined;
  return readdirSync(bucketsDir)
    .map((bucket) => join(bucketsDir, bucket, jobPrefix(jobId).slice(0, -1)))
    .find((folder) => existsSync(folder));
}
