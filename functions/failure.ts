/**
 * Failure reasons for people: the sentence a stage wrote to its failure file, dug out of
 * Step Functions' `{ Error, Cause }` (Cause = DescribeProcessingJob/DescribeTrainingJob JSON for
 * a failed SageMaker job), without SageMaker's "AlgorithmError: " noise; plus what to do next.
 */
import { QUOTA_ERRORS, TRANSIENT_JOB_FAILURES } from "../pipeline/compile.js";

export const MAX_REASON_LENGTH = 1024;
const NO_DETAIL = /^(see job logs for more information\.?|)$/i;

export function failureReason(error: string | undefined, cause: string | undefined): string {
  const err = error ?? "";
  if (err === "States.Timeout" || err === "States.HeartbeatTimeout") return "the stage ran longer than its time limit and was stopped";
  if (QUOTA_ERRORS.includes(err)) return "no compute instance became free in time (the account's quota stayed in use)";
  let text = (cause ?? "").trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const exitMessage = typeof parsed["ExitMessage"] === "string" ? parsed["ExitMessage"].trim() : "";
      const failureReason = typeof parsed["FailureReason"] === "string" ? parsed["FailureReason"].trim() : "";
      const errorMessage = typeof parsed["errorMessage"] === "string" ? parsed["errorMessage"].trim() : "";
      text = [exitMessage, cleanAlgorithmError(failureReason), errorMessage].find((t) => !NO_DETAIL.test(cleanAlgorithmError(t))) ?? "";
      if (text === "" && typeof parsed["StoppingCondition"] === "object" && /Stopped/.test(String(parsed["TrainingJobStatus"] ?? parsed["ProcessingJobStatus"] ?? ""))) {
        return "the stage was stopped before it finished";
      }
    } catch {
      // plain text that happens to start with "{"
    }
  }
  text = cleanAlgorithmError(text);
  if (NO_DETAIL.test(text)) return err && !err.startsWith("States.") ? `the stage stopped with an error (${err})` : "the stage stopped with an error and gave no reason";
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH - 1)}…` : text;
}

function cleanAlgorithmError(text: string): string {
  return text.replace(/^(AlgorithmError:\s*)+/i, "").replace(/,?\s*exit code:\s*\d+\s*$/i, "").trim();
}

/** Whether SageMaker's failure is one that a plain resubmission usually fixes. */
export function isTransient(reason: string): boolean {
  return TRANSIENT_JOB_FAILURES.some((pattern) => reason.includes(pattern.replace(/\*/g, "")));
}

/** Failures of the platform running the job, not of the job's photos or settings. */
const PLATFORM_ERRORS = ["Spaceport.RuntimeStopped", "States.Runtime"];
const KILLED = /was killed by (SIGKILL|SIGSEGV|SIGABRT|SIGTERM)/;
const OUT_OF_MEMORY = /killed by SIGKILL|out of (GPU |CUDA )?memory|MemoryError|OutOfMemory/i;

/**
 * What the pilot can do about it, for the email and job-status: advice that fits the failure
 * (a crash of the runtime is not a problem with the ZIP) and the job (no "try preview" for a
 * job that already ran at preview).
 */
export function failureAdvice(stage: string | undefined, error: string | undefined, reason: string, options: Readonly<Record<string, string>> = {}): string {
  const preview = options["quality"] === "preview";
  const smaller = preview ? "with fewer photos of a smaller area" : 'with quality "preview", or with fewer photos of a smaller area';
  if (PLATFORM_ERRORS.includes(error ?? "")) return "This was a problem on our side, not with your photos: submit the same job again.";
  if (error === "States.Timeout") return `Submit it again ${smaller}.`;
  if (isTransient(reason) || QUOTA_ERRORS.includes(error ?? "")) return "This was a temporary problem on our side: submit the same job again.";
  if (OUT_OF_MEMORY.test(reason)) return `The stage ran out of memory: submit it again ${smaller}.`;
  if (KILLED.test(reason)) return "The stage was stopped from outside or crashed: submit the same job again; if it fails the same way, reply with the job id.";
  if (stage === "sfm") {
    return "Check the ZIP: JPEG photos of one site, taken with plenty of overlap (at least 70% forward and 60% side), then submit it again.";
  }
  if (stage === "gaussian-splatting" && !preview) return 'Submit it again; if it fails the same way, try quality "preview" or reply with the job id.';
  return "Submit the job again; if it fails the same way, reply to this email with the job id.";
}
