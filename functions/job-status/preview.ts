/**
 * The preview part of a job's status: where the delivering stage runs early on a training
 * stage's early output (pipeline/compile-early.ts), its run, from the execution's events. A
 * delivered preview shows its links, marked as a preview, until the job ends; a succeeded job
 * shows none (the final model has replaced it at the same links), a failed one says that the
 * links show only the preview. A preview that failed is a warning, never the job's failure.
 */
import { EARLY_STATE } from "../../pipeline/compile-early.js";
import { deliveryLinks, type Pipeline } from "../../pipeline/define.js";
import { earlyRuns } from "../../pipeline/early.js";
import { parseJsonObject as parseJson, valueAt as at } from "../../pipeline/json.js";
import { stageOutputPrefix } from "../../pipeline/layout.js";
import { failureReason } from "../failure.js";
import type { ExecutionEvent, ObjectStore } from "../ports.js";
import type { JobWarning } from "../warnings.js";

export interface PreviewStatus {
  readonly state: "running" | "delivered" | "failed";
  /** The preview's SageMaker job. */
  readonly jobName?: string;
  /** Once delivered: the delivery's links (the same URLs the final model takes over). */
  readonly links?: Readonly<Record<string, string>>;
  /** What the buyer sees at those links, in words. */
  readonly note: string;
  /** Why it failed. */
  readonly reason?: string;
}

export const PREVIEW_NOTES = {
  running: "a preview is being made from the model early in training",
  delivered: "preview: made from the model early in training; the final model replaces it at the same links",
  failedJob: "the links show only a preview made early in training, not a finished model",
  failed: "the preview could not be made; the final model is not affected",
} as const;

const entered = (e: ExecutionEvent, name: string) => e.stateName === name && e.type.endsWith("StateEntered");

/** The preview run of this round, as the events tell it (undefined where none ran). */
export async function previewStatus(
  pipeline: Pipeline,
  events: readonly ExecutionEvent[],
  job: { readonly jobId: string; readonly ended: boolean; readonly failed: boolean },
  links?: { readonly store: ObjectStore; readonly bucket: string },
): Promise<PreviewStatus | undefined> {
  const run = earlyRuns(pipeline)[0];
  if (!run) return undefined;
  // This round only: a retried job (redriven) starts looking again.
  const from = events.findLastIndex((e) => e.type === "ExecutionRedriven") + 1;
  const last = (name: string) => events.findLastIndex((e, i) => i >= from && entered(e, name));
  const started = last(EARLY_STATE.runPreview(run));
  const failedAt = last(EARLY_STATE.recordPreview(run));
  const delivered = last(EARLY_STATE.notifyPreview) >= 0;
  const jobName = started >= 0 ? (at(parseJson(events[started]!.json), "preview", "jobName") as string | undefined) : undefined;
  const named = jobName ? { jobName } : {};
  if (failedAt >= 0) {
    const error = at(parseJson(events[failedAt]!.json), "previewError") as { Error?: unknown; Cause?: unknown } | undefined;
    const reason = failureReason(typeof error?.Error === "string" ? error.Error : undefined, typeof error?.Cause === "string" ? error.Cause : undefined);
    return { state: "failed", ...named, note: PREVIEW_NOTES.failed, reason };
  }
  if (delivered) {
    const shown = links ? await previewLinks(pipeline, job.jobId, links) : undefined;
    return { state: "delivered", ...named, ...(shown ? { links: shown } : {}), note: job.failed ? PREVIEW_NOTES.failedJob : PREVIEW_NOTES.delivered };
  }
  if (started >= 0 && !job.ended) return { state: "running", ...named, note: PREVIEW_NOTES.running };
  return undefined;
}

async function previewLinks(pipeline: Pipeline, jobId: string, { store, bucket }: { store: ObjectStore; bucket: string }): Promise<Record<string, string>> {
  const prefix = stageOutputPrefix(jobId, pipeline.delivery.output);
  const out: Record<string, string> = {};
  for (const [name, file] of Object.entries(deliveryLinks(pipeline))) out[name] = await store.publicUrl(bucket, prefix + file);
  return out;
}

/** A failed preview on a job that succeeded: a warning of the delivering stage. */
export function previewWarning(pipeline: Pipeline, preview: PreviewStatus | undefined): JobWarning[] {
  if (preview?.state !== "failed") return [];
  return [{ stage: pipeline.delivery.stage, code: "preview-failed", message: `${PREVIEW_NOTES.failed}: ${preview.reason ?? "unknown reason"}` }];
}
