/**
 * An early run in the state machine: the producing training stage and a preview run of the
 * delivering stage side by side, in one Parallel state.
 *
 *   Branch 1: the producer's own states (Prepare, Run, Check, Record); a failure that is final
 *             fails the branch with its attempt and error, so the Parallel stops branch 2 and
 *             the states after it take both over and go on to the failure email, as without
 *             an early run.
 *   Branch 2: a bounded loop (Wait, two S3 listings, Choice) that looks for the early output's
 *             completion marker and for the producer's final output. The marker first: the
 *             delivering stage runs on the early output into the delivery location and the
 *             submitter gets the preview email. The final output first, or no marker within
 *             the bound: no preview. A preview that fails is recorded and the branch ends:
 *             it never fails the job and sends no email.
 * After the Parallel the delivering stage runs as usual; its output replaces the preview.
 */
import type { CreateProcessingJobRequest } from "@aws-sdk/client-sagemaker";
import type { AslRetrier, AslState } from "./asl.js";
import type { CompileTarget } from "./compile-target.js";
import type { EarlyRun } from "./early.js";
import { earlyOutputPrefix, sageMakerJobName, stageOutputPrefix } from "./layout.js";
import { ref, toAslParameters } from "./references.js";
import { EARLY_OUTPUT_COMPLETE, PREVIEW_VARIABLE } from "./stage-contract.js";

/** At most this many looks for an early output: its events stay well inside Step Functions' 25,000 per execution (about 16 a look). */
export const MAX_EARLY_POLLS = 1000;
/** A preview that finds no free instance gives up after about 10 minutes (the job waits for the Parallel to end). */
export const PREVIEW_QUOTA_RETRY: AslRetrier = {
  ErrorEquals: ["SageMaker.ResourceLimitExceededException", "SageMaker.ResourceLimitExceeded"],
  IntervalSeconds: 60,
  BackoffRate: 1.5,
  MaxAttempts: 5,
  JitterStrategy: "FULL",
};
const S3_RETRY: AslRetrier = { ErrorEquals: ["S3.S3Exception", "S3.SdkClientException"], IntervalSeconds: 2, BackoffRate: 2, MaxAttempts: 4, JitterStrategy: "FULL" };
export const LIST_OBJECTS = "arn:aws:states:::aws-sdk:s3:listObjectsV2";
export const PROCESSING_SYNC = "arn:aws:states:::sagemaker:createProcessingJob.sync";

export const EARLY_STATE = {
  parallel: (run: EarlyRun) => `Run ${run.producer.name} and an early ${run.consumer.name}`,
  handOver: (run: EarlyRun) => `Hand over ${run.producer.name} failure`,
  failBranch: (run: EarlyRun) => `Fail ${run.producer.name} branch`,
  which: (run: EarlyRun) => `Which ${run.producer.name} failure?`,
  takeOverAttempt: (run: EarlyRun) => `Take over ${run.producer.name} attempt`,
  takeOverError: (run: EarlyRun) => `Take over ${run.producer.name} error`,
  keepError: (run: EarlyRun) => `Keep ${run.producer.name} branch error`,
  record: (run: EarlyRun) => `Record ${run.producer.name} branch failure`,
  producerDone: (run: EarlyRun) => `${run.producer.name} done`,
  startLooking: (run: EarlyRun) => `Start looking for early ${run.output}`,
  wait: (run: EarlyRun) => `Wait for early ${run.output}`,
  lookEarly: (run: EarlyRun) => `Look for early ${run.output}`,
  lookFinal: (run: EarlyRun) => `Look for final ${run.output}`,
  choose: (run: EarlyRun) => `Early ${run.output} ready?`,
  count: (run: EarlyRun) => `Count looks for early ${run.output}`,
  preparePreview: (run: EarlyRun) => `Prepare ${run.consumer.name} preview`,
  runPreview: (run: EarlyRun) => `Run ${run.consumer.name} preview`,
  recordPreview: (run: EarlyRun) => `Record ${run.consumer.name} preview failure`,
  notifyPreview: "Notify preview",
  noPreview: "No preview",
  previewDone: "Preview done",
} as const;

/** What the compiler hands over: the producer's own states and the notify state, built as without an early run. */
export interface EarlyParts {
  readonly run: EarlyRun;
  readonly target: CompileTarget;
  /** The producer's states, its final failure going to `onFailure`, its success to `next`. */
  readonly producerStates: (next: string, onFailure: string) => Record<string, AslState>;
  readonly producerEntry: string;
  /** The producer's key in the execution state (`$.runs.<key>`, `$.errors.<key>`). */
  readonly producerKey: string;
  /** Longest the producer's job may take (its spot wait or timeout) plus the Task margin. */
  readonly producerMaxSeconds: number;
  /** The consumer's request on the early inputs (`previewRequest`). */
  readonly previewRequest: CreateProcessingJobRequest;
  readonly consumerTimeoutSeconds: number;
  readonly notifyPreview: (next: string) => AslState;
  readonly throttlingRetry: AslRetrier;
  readonly taskMarginSeconds: number;
}

/** Seconds between looks: the declared interval, longer where the producer's time needs more than MAX_EARLY_POLLS looks. */
export function earlyPollSeconds(run: EarlyRun, producerMaxSeconds: number): number {
  return Math.max(run.early.pollEvery.seconds, Math.ceil(producerMaxSeconds / MAX_EARLY_POLLS));
}

/** The consumer's request on the early inputs: the same definition, its early inputs read from the early folder, marked as a preview. */
export function previewRequest(run: EarlyRun, request: CreateProcessingJobRequest, bucket: string): CreateProcessingJobRequest {
  const earlyUri = `s3://${bucket}/${earlyOutputPrefix(ref("$.jobId"), run.producer.name, run.output)}`;
  return {
    ...request,
    ProcessingJobName: ref("$.preview.jobName"),
    ProcessingInputs: (request.ProcessingInputs ?? []).map((input) =>
      run.inputs.includes(input.InputName ?? "") ? { ...input, S3Input: { ...input.S3Input!, S3Uri: earlyUri } } : input,
    ),
    Environment: { ...request.Environment, [PREVIEW_VARIABLE]: "1" },
  };
}

/**
 * The Parallel state, and after it the states that take over a failed producer's attempt and
 * error. Step Functions hands a failed branch's error out as two strings, Error and Cause: the
 * branch's Error is `<attempt>:<error>` (error names hold no colon), its Cause the stage's own.
 */
export function earlyStates(parts: EarlyParts, next: string, onFailure: string): Record<string, AslState> {
  const { run } = parts;
  const key = parts.producerKey;
  const split = (i: number) => `States.ArrayGetItem(States.StringSplit($.branchError.Error, ':'), ${i})`;
  return {
    [EARLY_STATE.parallel(run)]: {
      Type: "Parallel",
      Comment: `${run.producer.name}, and ${run.consumer.name} on its early ${run.output} as soon as it appears (a preview)`,
      Branches: [
        { StartAt: parts.producerEntry, States: producerBranch(parts) },
        { StartAt: EARLY_STATE.startLooking(run), States: previewBranch(parts) },
      ],
      // The producer's branch carries the execution state on; the preview branch's is its own.
      OutputPath: "$[0]",
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.branchError", Next: EARLY_STATE.which(run) }],
      Next: next,
    },
    [EARLY_STATE.which(run)]: {
      Type: "Choice",
      Choices: [{ Variable: "$.branchError.Error", StringMatches: "*:*", Next: EARLY_STATE.takeOverAttempt(run) }],
      Default: EARLY_STATE.keepError(run),
    },
    [EARLY_STATE.takeOverAttempt(run)]: {
      Type: "Pass",
      Comment: "The attempt the branch made: a retry continues from it under a fresh job name",
      Parameters: {
        [`attempt.$`]: `States.StringToJson(${split(0)})`,
        [`jobName.$`]: `States.Format('${sageMakerJobName("{}", run.producer.name, "{}")}', $.jobId, ${split(0)})`,
      },
      ResultPath: `$.runs.${key}`,
      Next: EARLY_STATE.takeOverError(run),
    },
    [EARLY_STATE.takeOverError(run)]: {
      Type: "Pass",
      Parameters: { "Error.$": split(1), "Cause.$": "$.branchError.Cause" },
      ResultPath: `$.errors.${key}`,
      Next: EARLY_STATE.record(run),
    },
    [EARLY_STATE.keepError(run)]: { Type: "Pass", InputPath: "$.branchError", ResultPath: `$.errors.${key}`, Next: EARLY_STATE.record(run) },
    [EARLY_STATE.record(run)]: {
      Type: "Pass",
      Parameters: { stage: run.producer.name, "error.$": `$.errors.${key}`, "redriveCount.$": "$$.Execution.RedriveCount" },
      ResultPath: "$.failure",
      Next: onFailure,
    },
  };
}

function producerBranch(parts: EarlyParts): Record<string, AslState> {
  const { run } = parts;
  const key = parts.producerKey;
  return {
    ...parts.producerStates(EARLY_STATE.producerDone(run), EARLY_STATE.handOver(run)),
    [EARLY_STATE.producerDone(run)]: { Type: "Pass", End: true },
    [EARLY_STATE.handOver(run)]: {
      Type: "Pass",
      Parameters: { "error.$": `States.Format('{}:{}', $.runs.${key}.attempt, $.errors.${key}.Error)` },
      ResultPath: "$.handover",
      Next: EARLY_STATE.failBranch(run),
    },
    [EARLY_STATE.failBranch(run)]: {
      Type: "Fail",
      Comment: "Stops the preview branch; the attempt and the error are taken over after the Parallel",
      ErrorPath: "$.handover.error",
      CausePath: `$.errors.${key}.Cause`,
    },
  };
}

const listing = (bucket: string, key: string, resultPath: string, next: string, onError: string): AslState => ({
  Type: "Task",
  Resource: LIST_OBJECTS,
  Parameters: { Bucket: bucket, ...(toAslParameters({ Prefix: key }) as Record<string, unknown>), MaxKeys: 1 },
  ResultSelector: { "keys.$": "$.KeyCount" },
  ResultPath: resultPath,
  Retry: [S3_RETRY],
  Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.previewError", Next: onError }],
  Next: next,
});

function previewBranch(parts: EarlyParts): Record<string, AslState> {
  const { run, target } = parts;
  const S = EARLY_STATE;
  const polls = Math.ceil(parts.producerMaxSeconds / earlyPollSeconds(run, parts.producerMaxSeconds));
  const marker = `${earlyOutputPrefix(ref("$.jobId"), run.producer.name, run.output)}${EARLY_OUTPUT_COMPLETE}`;
  const final = stageOutputPrefix(ref("$.jobId"), run.producer.outputs[0]!);
  return {
    [S.startLooking(run)]: { Type: "Pass", Result: { count: 0 }, ResultPath: "$.earlyPoll", Next: S.wait(run) },
    [S.wait(run)]: { Type: "Wait", Seconds: earlyPollSeconds(run, parts.producerMaxSeconds), Next: S.lookEarly(run) },
    [S.lookEarly(run)]: listing(target.bucket, marker, "$.earlyPoll.early", S.lookFinal(run), S.recordPreview(run)),
    [S.lookFinal(run)]: listing(target.bucket, final, "$.earlyPoll.final", S.choose(run), S.recordPreview(run)),
    [S.choose(run)]: {
      Type: "Choice",
      Comment: `The final ${run.output} first: no preview; the early one complete: the preview; at most ${polls} looks`,
      Choices: [
        { Variable: "$.earlyPoll.final.keys", NumericGreaterThan: 0, Next: S.noPreview },
        { Variable: "$.earlyPoll.early.keys", NumericGreaterThan: 0, Next: S.preparePreview(run) },
        { Variable: "$.earlyPoll.count", NumericGreaterThanEquals: polls, Next: S.noPreview },
      ],
      Default: S.count(run),
    },
    [S.count(run)]: { Type: "Pass", Parameters: { "count.$": "States.MathAdd($.earlyPoll.count, 1)" }, ResultPath: "$.earlyPoll", Next: S.wait(run) },
    [S.preparePreview(run)]: {
      Type: "Pass",
      Comment: "Its own job name: p and the round, apart from the stage's attempts",
      Parameters: { "jobName.$": `States.Format('${sageMakerJobName("{}", run.consumer.name, "p{}")}', $.jobId, $$.Execution.RedriveCount)` },
      ResultPath: "$.preview",
      Next: S.runPreview(run),
    },
    [S.runPreview(run)]: {
      Type: "Task",
      Comment: `${run.consumer.name} on the early ${run.output}, into the delivery location`,
      Resource: PROCESSING_SYNC,
      Parameters: toAslParameters(parts.previewRequest) as Record<string, unknown>,
      ResultSelector: { "jobName.$": "$.ProcessingJobName", "status.$": "$.ProcessingJobStatus" },
      ResultPath: "$.preview.run",
      TimeoutSeconds: parts.consumerTimeoutSeconds + parts.taskMarginSeconds,
      Retry: [PREVIEW_QUOTA_RETRY, parts.throttlingRetry],
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.previewError", Next: S.recordPreview(run) }],
      Next: S.notifyPreview,
    },
    [S.notifyPreview]: parts.notifyPreview(S.previewDone),
    [S.recordPreview(run)]: {
      Type: "Pass",
      Comment: "A preview that failed is a warning: the job goes on, no email",
      Parameters: { stage: run.consumer.name, "error.$": "$.previewError" },
      ResultPath: "$.previewFailure",
      Next: S.previewDone,
    },
    [S.noPreview]: { Type: "Succeed" },
    [S.previewDone]: { Type: "Succeed" },
  };
}
