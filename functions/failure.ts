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

/** Failures of the platform running the job, not of the job's photos or settings. */
const PLATFORM_ERRORS = ["Spaceport.RuntimeStopped", "States.Runtime"];
const KILLED = /was killed by (SIGKILL|SIGSEGV|SIGABRT|SIGTERM)/;
const OUT_OF_MEMORY = /killed by SIGKILL|out of (GPU |CUDA )?memory|MemoryError|OutOfMemory/i;
const GENERIC_ADVICE = "Submit the job again; if it fails the same way, reply to this email with the job id.";

/**
 * What the submitter can do about it, for the email and job-status: advice that fits the failure
 * (a crash of the runtime is not a problem with the ZIP; the failed stage declares its own
 * `failureAdvice` for its own failures) and the job (never "try quality X" to a job that ran at X).
 */
export function failureAdvice(
  pipeline: Pick<Pipeline, "stages">,
  stage: string | undefined,
  error: string | undefined,
  reason: string,
  options: Readonly<Record<string, string>> = {},
): string {
  const quality = options["quality"];
  const suggestsOwnQuality = (advice: string) => quality !== undefined && advice.includes(`quality "${quality}"`);
  const smaller = quality === "preview" ? "with fewer photos of a smaller area" : 'with quality "preview", or with fewer photos of a smaller area';
  if (PLATFORM_ERRORS.includes(error ?? "")) return "This was a problem on our side, not with your photos: submit the same job again.";
  if (error === "States.Timeout") return `Submit it again ${smaller}.`;
  if (isTransient(reason) || QUOTA_ERRORS.includes(error ?? "")) return "This was a temporary problem on our side: submit the same job again.";
  if (OUT_OF_MEMORY.test(reason)) return `The stage ran out of memory: submit it again ${smaller}.`;
  if (KILLED.test(reason)) return "The stage was stopped from outside or crashed: submit the same job again; if it fails the same way, reply with the job id.";
  const declared = pipeline.stages.find((s) => s.name === stage)?.failureAdvice;
  return declared && !suggestsOwnQuality(declared) ? declared : GENERIC_ADVICE;
}

/** A stage's name as a customer reads it (`Stage.label`), or the name itself. */
export function stageLabel(pipeline: Pick<Pipeline, "stages">, stage: string): string {
  return pipeline.stages.find((s) => s.name === stage)?.label ?? stage;
}
