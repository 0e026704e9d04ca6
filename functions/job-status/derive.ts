/**
 * A job's status, derived from its execution (describe + history): the same code for AWS and
 * the local runtime, since both give Step Functions' events. State names come from the
 * compiler (`STATE`), stages and their kinds from the pipeline.
 */
import { QUOTA_ERRORS, STATE, stageKey } from "../../pipeline/compile.js";
import { deliveryLinks, type Pipeline } from "../../pipeline/define.js";
import { expectedDuration } from "../../pipeline/expected-duration.js";
import { parseJsonObject as parseJson, valueAt as at } from "../../pipeline/json.js";
import { sageMakerJobName, stageOutputPrefix } from "../../pipeline/layout.js";
import { failureAdvice, failureReason } from "../failure.js";
import type { NotificationState } from "../notify/state.js";
import type { ExecutionEvent, ExecutionRecord, ObjectStore, StageProgress } from "../ports.js";
import { readDeliveryReport, warningsOf, type JobWarning } from "../warnings.js";
import { previewStatus, previewWarning, type PreviewStatus } from "./preview.js";
import { deliveryFacts, linkLifetimeWords, type DeliveryFacts, type LinkLifetime } from "../../pipeline/delivery-facts.js";

export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export type StageState = "pending" | "running" | "succeeded" | "failed" | "cancelled";

export interface StageStatus {
  readonly name: string;
  readonly kind: "processing" | "training";
  readonly state: StageState;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationSeconds?: number;
  /** SageMaker job attempts made (a transient failure gets a new attempt). */
  readonly attempts: number;
  readonly jobName?: string;
  /** 0–100 where the stage reports it. */
  readonly progress?: number;
  /** Set while SageMaker has no free instance for this stage (quota in use). */
  readonly waitingFor?: "quota";
}

export interface JobFailure {
  readonly stage?: string;
  readonly error?: string;
  readonly reason: string;
  readonly advice: string;
}

export interface JobStatus {
  readonly jobId: string;
  readonly state: JobState;
  readonly stage: string | null;
  readonly submittedAt: string;
  readonly finishedAt?: string;
  readonly options: Readonly<Record<string, string>>;
  /** Overall 0–100, stages weighted by their expected duration. */
  readonly progress: number;
  readonly stages: readonly StageStatus[];
  readonly delivery?: Readonly<Record<string, string>>;
  /** On a succeeded job: what its stages warned about (empty when nothing). */
  readonly warnings?: readonly JobWarning[];
  /** On a succeeded job: what the buyer gets (held-out quality, place, size) and how long the links work. */
  readonly about?: DeliveryFacts & { readonly links?: string };
  readonly failure?: JobFailure;
  /** When a cancel request stopped the job. */
  readonly cancelledAt?: string;
  /** Whether the submitter was told of the outcome, apart from the outcome itself (functions/notify/state.ts). */
  readonly notification?: NotificationState;
  /** Where the pipeline delivers a preview early (./preview.ts): its run, and its links once delivered, marked as a preview. Absent once the job succeeded. */
  readonly preview?: PreviewStatus;
}

const NOTIFY_STATES: readonly string[] = [STATE.notifySuccess, STATE.notifyFailure];
/** Events of sending the outcome's email (kept for histories recorded before notification had its own record). */
const isNotificationEvent = (e: ExecutionEvent) => NOTIFY_STATES.includes(e.stateName ?? "") || e.type === "NotificationFailed";
const entered = (e: ExecutionEvent, name: string) => e.stateName === name && e.type.endsWith("StateEntered");
const exited = (e: ExecutionEvent, name: string) => e.stateName === name && e.type.endsWith("StateExited");
const iso = (d: Date | undefined) => (d ? d.toISOString() : undefined);

export interface DeriveOptions {
  readonly pipeline: Pipeline;
  readonly progress?: StageProgress;
  /** For delivery links: the processing bucket and its store. */
  readonly store?: ObjectStore;
  readonly bucket?: string;
  readonly now?: Date;
  /** How long the delivery links work (functions/config.ts `linkLifetimeOf`); without it the status does not say. */
  readonly linkLifetime?: LinkLifetime;
  /** A cancel request was recorded for this round (its time): the job, and the stage it stopped, read `cancelled`. */
  readonly cancelledAt?: string;
}

export async function deriveJobStatus(record: ExecutionRecord, events: readonly ExecutionEvent[], options: DeriveOptions): Promise<JobStatus> {
  const { pipeline } = options;
  const input = parseJson(record.input) ?? {};
  const jobId = typeof input["jobId"] === "string" ? input["jobId"] : record.name;
  const jobOptions: Record<string, string> = {};
  for (const [k, val] of Object.entries((input["options"] as Record<string, unknown>) ?? {})) if (typeof val === "string") jobOptions[k] = val;

  const index = (predicate: (e: ExecutionEvent) => boolean): number => events.findIndex(predicate);
  const { stages, failedStage } = stageStatuses(pipeline, record, events, jobId);
  const runningIndex = await withRunningProgress(stages, events, options.progress);

  const notifiedSuccess = index((e) => entered(e, STATE.notifySuccess)) >= 0;
  const ended = record.status !== "RUNNING";
  let state: JobState;
  if (record.status === "SUCCEEDED" || (notifiedSuccess && !failedStage)) state = "succeeded";
  else if (options.cancelledAt !== undefined && ended) state = "cancelled";
  else if (ended || failedStage) state = "failed";
  else if (stages.every((s) => s.state === "pending" || (s.state === "running" && s.waitingFor === "quota" && s === stages[0]))) state = "queued";
  else state = "running";
  const progress = state === "succeeded" ? 100 : overallProgress(pipeline, stages, jobOptions);

  const result: JobStatus = {
    jobId,
    state,
    stage: stages[runningIndex]?.name ?? null,
    submittedAt: record.startDate.toISOString(),
    ...(record.stopDate ? { finishedAt: record.stopDate.toISOString() } : {}),
    options: jobOptions,
    progress,
    stages,
  };

  const linkStore = options.store && options.bucket ? { store: options.store, bucket: options.bucket } : undefined;
  const preview = await previewStatus(pipeline, events, { jobId, ended, failed: state === "failed" || state === "cancelled" }, linkStore);
  const withPreview = preview && state !== "succeeded" ? { preview } : {};

  if (state === "cancelled") {
    // The stage that was stopped reads cancelled, not failed.
    const shown = stages.map((s) => (s.name === failedStage?.name ? { ...s, state: "cancelled" as const } : s));
    return { ...result, stages: shown, ...(options.cancelledAt ? { cancelledAt: options.cancelledAt } : {}), ...withPreview };
  }
  if (state === "failed") {
    return { ...result, failure: describeFailure(pipeline, record, events, failedStage, jobOptions), ...withPreview };
  }
  if (state === "succeeded" && options.store && options.bucket) {
    const prefix = stageOutputPrefix(jobId, pipeline.delivery.output);
    const delivery: Record<string, string> = {};
    const links = deliveryLinks(pipeline);
    for (const [name, file] of Object.entries(links)) delivery[name] = await options.store.publicUrl(options.bucket, prefix + file);
    const report = links["report"] ? await readDeliveryReport(options.store, options.bucket, prefix + links["report"]) : undefined;
    const about = { ...deliveryFacts(report), ...(options.linkLifetime ? { links: linkLifetimeWords(options.linkLifetime) } : {}) };
    return { ...result, delivery, warnings: [...warningsOf(report), ...previewWarning(pipeline, preview)], about };
  }
  return { ...result, ...withPreview };
}

interface FailedStage {
  readonly name: string;
  readonly key: string;
  readonly recordIndex: number;
}

/** Each stage's state, times and attempts from the events; and the stage that failed, if one did. */
function stageStatuses(pipeline: Pipeline, record: ExecutionRecord, events: readonly ExecutionEvent[], jobId: string): { stages: StageStatus[]; failedStage: FailedStage | undefined } {
  const index = (predicate: (e: ExecutionEvent) => boolean): number => events.findIndex(predicate);
  const lastIndex = (predicate: (e: ExecutionEvent) => boolean): number => events.findLastIndex(predicate);
  const ended = record.status !== "RUNNING";
  const stages: StageStatus[] = [];
  let failedStage: FailedStage | undefined;

  pipeline.stages.forEach((stage, i) => {
    const runState = STATE.run(stage.name);
    const key = stageKey(stage.name);
    const next = pipeline.stages[i + 1];
    const nextMilestone = next ? STATE.prepare(next.name) : STATE.notifySuccess;
    const runs = events.filter((e) => entered(e, runState));
    const base = { name: stage.name, kind: stage.kind, attempts: runs.length };
    if (runs.length === 0) {
      stages.push({ ...base, state: "pending" });
      return;
    }
    const lastRun = runs[runs.length - 1]!;
    const jobName = (at(parseJson(lastRun.json), "runs", key, "jobName") as string | undefined) || sageMakerJobName(jobId, stage.name, runs.length);
    const startedAt = runs[0]!.timestamp;
    // After this stage's latest attempt: a retried job (redriven) has older rounds' events before it.
    const lastRunIndex = events.lastIndexOf(lastRun);
    const recordIndex = events.findIndex((e, i) => i > lastRunIndex && entered(e, STATE.record(stage.name)));
    const nextIndex = events.findIndex((e, i) => i > lastRunIndex && entered(e, nextMilestone));
    const exitIndex = lastIndex((e) => exited(e, runState));
    let state: StageState;
    let endedAt: Date | undefined;
    if (recordIndex >= 0) {
      state = "failed";
      endedAt = events[recordIndex]!.timestamp;
      failedStage = { name: stage.name, key, recordIndex };
    } else if (nextIndex >= 0) {
      state = "succeeded";
      endedAt = exitIndex >= 0 ? events[exitIndex]!.timestamp : events[nextIndex]!.timestamp;
    } else if (ended) {
      state = "failed";
      endedAt = record.stopDate;
      failedStage ??= { name: stage.name, key, recordIndex: -1 };
    } else {
      state = "running";
    }
    const status: StageStatus = {
      ...base,
      state,
      jobName,
      startedAt: iso(startedAt)!,
      ...(endedAt ? { endedAt: iso(endedAt)!, durationSeconds: Math.round((endedAt.getTime() - startedAt.getTime()) / 1000) } : {}),
      ...(state === "succeeded" ? { progress: 100 } : {}),
    };
    stages.push(status);
  });

  return { stages, failedStage };
}

/** The running stage: waiting for quota, or its progress. Answers its index (-1 when none runs). */
async function withRunningProgress(stages: StageStatus[], events: readonly ExecutionEvent[], source: StageProgress | undefined): Promise<number> {
  const runningIndex = stages.findIndex((s) => s.state === "running");
  if (runningIndex < 0) return runningIndex;
  const running = stages[runningIndex]!;
  const last = events[events.length - 1];
  const waiting = last !== undefined && QUOTA_ERRORS.includes(last.error ?? "") && !last.type.endsWith("StateEntered");
  let progress: number | undefined;
  if (!waiting && source && running.jobName) {
    try {
      progress = await source.latest(running.kind, running.jobName);
    } catch {
      progress = undefined; // progress is a nicety: never fail the status for it
    }
  }
  stages[runningIndex] = {
    ...running,
    ...(waiting ? { waitingFor: "quota" as const } : {}),
    ...(progress !== undefined && Number.isFinite(progress) ? { progress: Math.max(0, Math.min(100, progress)) } : {}),
  };
  return runningIndex;
}

/** Overall 0–100, stages weighted by their expected duration for the job's options. */
function overallProgress(pipeline: Pipeline, stages: readonly StageStatus[], choices: Readonly<Record<string, string>>): number {
  const weights = pipeline.stages.map((s) => expectedDuration(s, choices).seconds);
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  const done = stages.reduce((sum, s, i) => sum + (weights[i]! * (s.state === "succeeded" ? 100 : s.state === "running" ? (s.progress ?? 0) : 0)) / 100, 0);
  return Math.round((1000 * done) / total) / 10;
}

function describeFailure(
  pipeline: Pipeline,
  record: ExecutionRecord,
  events: readonly ExecutionEvent[],
  failed: { name: string; key: string; recordIndex: number } | undefined,
  options: Readonly<Record<string, string>>,
): JobFailure {
  let error: string | undefined;
  let cause: string | undefined;
  if (failed && failed.recordIndex >= 0) {
    const stored = at(parseJson(events[failed.recordIndex]!.json), "errors", failed.key) as { Error?: unknown; Cause?: unknown } | undefined;
    if (stored) {
      error = typeof stored.Error === "string" ? stored.Error : undefined;
      cause = typeof stored.Cause === "string" ? stored.Cause : undefined;
    }
  }
  if (error === undefined && cause === undefined) {
    const upTo = failed && failed.recordIndex >= 0 ? failed.recordIndex : events.length;
    // The job's own failure: not the execution's summary, and not a failure to notify about it.
    const failure = events
      .slice(0, upTo)
      .findLast((e) => (e.error !== undefined || e.cause !== undefined) && e.type !== "ExecutionFailed" && !isNotificationEvent(e));
    error = failure?.error;
    cause = failure?.cause;
  }
  if (error === undefined && cause === undefined) {
    if (record.status === "TIMED_OUT") return { ...(failed ? { stage: failed.name } : {}), error: "States.Timeout", reason: "the job ran longer than the pipeline allows and was stopped", advice: failureAdvice(pipeline, failed?.name, "States.Timeout", "", options) };
    if (record.status === "ABORTED") return { ...(failed ? { stage: failed.name } : {}), reason: "the job was cancelled", advice: "Submit the job again if you still need it." };
    error = record.error;
    cause = record.cause;
  }
  const reason = failureReason(error, cause);
  return { ...(failed ? { stage: failed.name } : {}), ...(error ? { error } : {}), reason, advice: failureAdvice(pipeline, failed?.name, error, reason, options) };
}
