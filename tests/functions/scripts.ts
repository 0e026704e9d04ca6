/** Scripted Step Functions histories of the compiled spaceport state machine, event by event. */
import { STATE, stageKey } from "../../pipeline/compile.js";
import type { ExecutionEvent, ExecutionRecord } from "../../functions/ports.js";

export const JOB = "20261126-093012-1a2b3c4d";
export const START = new Date("2026-11-26T09:30:12Z");

export class Script {
  readonly events: ExecutionEvent[] = [];
  private t = START.getTime();
  private readonly attempts: Record<string, number> = {};

  constructor(readonly jobId = JOB) {}

  private add(type: string, fields: Partial<ExecutionEvent> = {}, advanceSeconds = 1): this {
    this.t += advanceSeconds * 1000;
    this.events.push({ id: this.events.length + 1, timestamp: new Date(this.t), type, ...fields });
    return this;
  }
  wait(seconds: number): this {
    this.t += seconds * 1000;
    return this;
  }
  get now(): Date {
    return new Date(this.t);
  }

  begin(): this {
    return this.add("ExecutionStarted").add("PassStateEntered", { stateName: STATE.start }).add("PassStateExited", { stateName: STATE.start });
  }

  /** Prepare + Run entered, job submitted (SageMaker running). */
  run(stage: string): this {
    const key = stageKey(stage);
    const attempt = (this.attempts[stage] = (this.attempts[stage] ?? 0) + 1);
    const jobName = `${this.jobId}-${stage}-${attempt}`;
    this.add("PassStateEntered", { stateName: STATE.prepare(stage) }).add("PassStateExited", { stateName: STATE.prepare(stage) });
    this.add("PassStateEntered", { stateName: `${STATE.prepare(stage)}: name` }).add("PassStateExited", { stateName: `${STATE.prepare(stage)}: name` });
    const json = JSON.stringify({ jobId: this.jobId, runs: { [key]: { attempt, jobName } }, stages: {}, errors: {} });
    return this.add("TaskStateEntered", { stateName: STATE.run(stage), json }).add("TaskScheduled").add("TaskStarted");
  }

  submitted(): this {
    return this.add("TaskSubmitted");
  }

  quotaWait(): this {
    return this.add("TaskSubmitFailed", { error: "SageMaker.ResourceLimitExceeded", cause: "The account-level service limit 'ml.g4dn.xlarge for training job usage' is 1 Instances" });
  }

  succeed(stage: string, seconds: number): this {
    return this.add("TaskSucceeded", {}, seconds).add("TaskStateExited", { stateName: STATE.run(stage) });
  }

  /** Job failed: Catch → Check → (retry or) Record → Notify failure → the retry gate (fails until redriven). */
  fail(stage: string, seconds: number, error: string, cause: string, options: { retry?: boolean } = {}): this {
    const key = stageKey(stage);
    this.add("TaskFailed", { error, cause }, seconds).add("TaskStateExited", { stateName: STATE.run(stage) });
    this.add("ChoiceStateEntered", { stateName: STATE.check(stage) }).add("ChoiceStateExited", { stateName: STATE.check(stage) });
    if (options.retry) return this;
    const json = JSON.stringify({ jobId: this.jobId, errors: { [key]: { Error: error, Cause: cause } } });
    return this.add("PassStateEntered", { stateName: STATE.record(stage), json }).add("PassStateExited", { stateName: STATE.record(stage) });
  }

  notify(outcome: "succeeded" | "failed"): this {
    const name = outcome === "succeeded" ? STATE.notifySuccess : STATE.notifyFailure;
    return this.add("TaskStateEntered", { stateName: name }).add("TaskScheduled").add("TaskStarted").add("TaskSucceeded").add("TaskStateExited", { stateName: name });
  }

  finish(outcome: "succeeded" | "failed"): this {
    if (outcome === "succeeded") return this.add("SucceedStateEntered", { stateName: STATE.succeeded }).add("SucceedStateExited", { stateName: STATE.succeeded }).add("ExecutionSucceeded");
    return this.add("ChoiceStateEntered", { stateName: STATE.failed }).add("ExecutionFailed", { error: "States.NoChoiceMatched", cause: "No Choice Rules matched" });
  }

  record(status: ExecutionRecord["status"], input: Record<string, unknown> = {}): ExecutionRecord {
    const stopped = status !== "RUNNING";
    return {
      name: this.jobId,
      status,
      startDate: START,
      ...(stopped ? { stopDate: this.now } : {}),
      input: JSON.stringify({ jobId: this.jobId, inputUri: `s3://b/jobs/${this.jobId}/input/photos.zip`, email: "pilot@example.com", options: { quality: "standard" }, client: "website", ...input }),
    };
  }
}

/** What SageMaker puts in Cause for a failed .sync processing job. */
export const processingCause = (exitMessage: string): string =>
  JSON.stringify({
    ProcessingJobName: `${JOB}-sfm-1`,
    ProcessingJobStatus: "Failed",
    ExitMessage: exitMessage,
    FailureReason: "AlgorithmError: See job logs for more information",
  });

export const trainingCause = (failureReason: string): string =>
  JSON.stringify({ TrainingJobName: `${JOB}-gaussian-splatting-1`, TrainingJobStatus: "Failed", FailureReason: failureReason });
