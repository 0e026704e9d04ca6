/**
 * Failure reasons for people: the sentence a stage wrote to its failure file, dug out of
 * Step Functions' `{ Error, Cause }` (Cause = DescribeProcessingJob/DescribeTrainingJob JSON for
 * a failed SageMaker job), without SageMaker's "AlgorithmError: " noise; plus what to do next,
 * which the failed stage declares (`failureAdvice`).
 */
import { QUOTA_ERRORS, TRANSIENT_JOB_FAILURES } from "../pipeline/compile.js";
import type { Pipeline } from "../pipeline/define.js";
import { parseJsonObject } from "../pipeline/json.js";
import { truncateReason } from "../pipeline/stage-contract.js";

const NO_DETAIL = /^(see job logs for more information\.?|)$/i;

const text = (value: unknown): string => (typeof value === "string" ? value.trim() : "");

export function failureReason(error: string | undefined, cause: string | undefined): string {
  const err = error ?? "";
  if (err === "States.Timeout" || err === "States.HeartbeatTimeout") return "the stage ran longer than its time limit and was stopped";
  if (QUOTA_ERRORS.includes(err)) return "no compute instance became free in time (the account's quota stayed in use)";
  let reason = (cause ?? "").trim();
  // Plain text that happens to start with "{" stays as it is.
  const parsed = reason.startsWith("{") ? parseJsonObject(reason) : undefined;
  if (parsed) {
    const candidates = [text(parsed["ExitMessage"]), cleanAlgorithmError(text(parsed["FailureReason"])), text(parsed["errorMessage"])];
    reason = candidates.find((t) => !NO_DETAIL.test(cleanAlgorithmError(t))) ?? "";
    if (reason === "" && typeof parsed["StoppingCondition"] === "object" && /Stopped/.test(String(parsed["TrainingJobStatus"] ?? parsed["ProcessingJobStatus"] ?? ""))) {
      return "the stage was stopped before it finished";
    }
  }
  reason = cleanAlgorithmError(reason);
  if (NO_DETAIL.test(reason)) return err && !err.startsWith("States.") ? `the stage stopped with an error (${err})` : "the stage stopped with an error and gave no reason";
  return truncateReason(reason);
}

function cleanAlgorithmError(reason: string): string {
  return reason.replace(/^(AlgorithmError:\s*)+/i, "").replace(/,?\s*exit code:\s*\d+\s*$/i, "").trim();
}

/** Whether SageMaker's failure is one that a plain resubmission usually fixes. */
export function isTransient(reason: string): boolean {
  return TRANSIENT_JOB_FAILURES.some((pattern) => reason.includes(pattern.replace(/\*/g, "")));
}

/** What the submitter can do about it, for the email and job-status. */
export function failureAdvice(pipeline: Pick<Pipeline, "stages">, stage: string | undefined, error: string | undefined, reason: string): string {
  if (error === "States.Timeout") return 'Submit it again with quality "preview", or with fewer photos of a smaller area.';
  if (isTransient(reason) || QUOTA_ERRORS.includes(error ?? "")) return "This was a temporary problem on our side: submit the same job again.";
  const declared = pipeline.stages.find((s) => s.name === stage)?.failureAdvice;
  return declared ?? "Submit the job again; if it fails the same way, reply to this email with the job id.";
}

/** A stage's name as a customer reads it (`Stage.label`), or the name itself. */
export function stageLabel(pipeline: Pick<Pipeline, "stages">, stage: string): string {
  return pipeline.stages.find((s) => s.name === stage)?.label ?? stage;
}
