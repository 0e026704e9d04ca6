/**
 * The compiler: a pure, deterministic function from a pipeline and one deployment target to
 * the Step Functions definition plus, per stage, the typed SageMaker request it sends.
 *
 * State machine shape, per stage in order:
 *   "Prepare <stage>" (Pass)  – next attempt number and a fresh SageMaker job name
 *   "Run <stage>" (Task .sync) – retries quota (ResourceLimitExceeded) for about a day, then
 *                                SageMaker's other API errors (throttling) a few times; the job
 *                                was never created then, so the same name is fine
 *   "Check <stage> failure" (Choice) – a job that was created and failed for a transient reason
 *                                (InternalServerError, CapacityError) goes round again with a new name
 *   "Record <stage> failure" (Pass) – stage name and SageMaker's error for the failure email
 * then "Notify success" → "Job succeeded", or "Notify failure" → "Job failed". A training stage
 * whose early output the delivering stage consumes runs inside a Parallel state beside that
 * stage's preview run (compile-early.ts); a pipeline without early outputs has no Parallel.
 */
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import type { AslCatcher, AslRetrier, AslState, AslStateMachine } from "./asl.js";
import { validateForEnvironment, type Pipeline } from "./define.js";
import { earlyRuns, type EarlyRun } from "./early.js";
import { EARLY_STATE, earlyStates, previewRequest } from "./compile-early.js";
import type { CompileTarget } from "./compile-target.js";
import { JOB_ID_LENGTH, MAX_ATTEMPT_DIGITS, SAGEMAKER_JOB_NAME_MAX, sageMakerJobName, stageOutputUri } from "./layout.js";
import type { AslFields, NotifyPayload } from "./notify-payload.js";
import { toAslParameters } from "./references.js";
import { processingRequest, stageKey, trainingRequest } from "./sagemaker/requests.js";
import { assertValidProcessingRequest, assertValidTrainingRequest } from "./sagemaker/validate-request.js";
import type { ProcessingStage, TrainingStage } from "./stage.js";

export { processingRequest, stageKey, trainingRequest };
export type { CompileTarget };

export type TaskBinding =
  | { readonly type: "sagemaker"; readonly stage: string; readonly jobKind: "processing" | "training" }
  | { readonly type: "notify"; readonly outcome: "succeeded" | "failed" | "preview" }
  /** `s3:listObjectsV2` (an early output's marker, a stage's final output). */
  | { readonly type: "s3-list" };

export interface CompiledStageBase {
  readonly name: string;
  /** JSONPath-safe key of the stage in the execution state (`$.stages.<key>`). */
  readonly key: string;
  readonly runState: string;
  readonly resource: string;
}
export interface CompiledProcessingStage extends CompiledStageBase {
  readonly kind: "processing";
  readonly stage: ProcessingStage;
  /** The request, with `⟦$.path⟧` markers where execution data goes. */
  readonly request: CreateProcessingJobRequest;
  /** Where the stage also runs early (`earlyInputs`): the same request on the early inputs, marked as a preview. */
  readonly previewRequest?: CreateProcessingJobRequest;
}
export interface CompiledTrainingStage extends CompiledStageBase {
  readonly kind: "training";
  readonly stage: TrainingStage;
  readonly request: CreateTrainingJobRequest;
}
export type CompiledStage = CompiledProcessingStage | CompiledTrainingStage;

export interface CompiledPipeline {
  readonly pipeline: Pipeline;
  readonly environment: string;
  readonly definition: AslStateMachine;
  /** The exact JSON deployed (and run locally): one compile, two runtimes. */
  readonly definitionJson: string;
  readonly stages: readonly CompiledStage[];
  /** What each Task state does, for the local runtime's task handlers. */
  readonly tasks: Readonly<Record<string, TaskBinding>>;
}

export const STATE = {
  start: "Start job",
  prepare: (stage: string) => `Prepare ${stage}`,
  run: (stage: string) => `Run ${stage}`,
  check: (stage: string) => `Check ${stage} failure`,
  record: (stage: string) => `Record ${stage} failure`,
  notifySuccess: "Notify success",
  notifyFailure: "Notify failure",
  succeeded: "Job succeeded",
  failed: "Job failed",
} as const;

/**
 * SageMaker errors raised before a job exists: retried with the same name. Step Functions
 * names service errors after the Java SDK's exception classes: SageMaker models few errors
 * (ResourceLimitExceeded, ResourceInUse, ResourceNotFound), so a quota error is
 * `SageMaker.ResourceLimitExceededException` and every unmodelled one (ThrottlingException,
 * InternalFailure, ServiceUnavailable, ValidationException) arrives as the SDK's base class
 * `SageMaker.AmazonSageMakerException`, the real error code only in Cause. AWS's own
 * training-job example retries exactly these two, separately.
 */
export const QUOTA_ERRORS = ["SageMaker.ResourceLimitExceededException", "SageMaker.ResourceLimitExceeded"];
export const THROTTLING_ERRORS = ["SageMaker.AmazonSageMakerException"];
/** Failure reasons of a created job that are worth a fresh attempt. */
export const TRANSIENT_JOB_FAILURES = ["*InternalServerError*", "*CapacityError*", "*InsufficientInstanceCapacity*"];
export const MAX_JOB_ATTEMPTS = 3;
/** Extra time a Task may take beyond the job's own limit: provisioning, download, upload. */
export const TASK_MARGIN_SECONDS = 1800;
/** How long a job waits for a free instance (the quota in use) before it fails. */
export const QUOTA_WAIT_SECONDS = 86_400;

/** Expected total wait of a retrier that is retried to its last attempt (full jitter: half of each delay). */
export function expectedRetryWaitSeconds(retrier: AslRetrier): number {
  let total = 0;
  for (let attempt = 0; attempt < (retrier.MaxAttempts ?? 3); attempt++) {
    const delay = Math.min(retrier.MaxDelaySeconds ?? Infinity, (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** attempt);
    total += retrier.JitterStrategy === "FULL" ? delay / 2 : delay;
  }
  return total;
}

const QUOTA_RETRY_SHAPE = { IntervalSeconds: 60, BackoffRate: 2, MaxDelaySeconds: 900, JitterStrategy: "FULL" } as const;
/** Attempts whose expected (jittered) waits add up to QUOTA_WAIT_SECONDS. */
function quotaAttempts(): number {
  let attempts = 1;
  while (expectedRetryWaitSeconds({ ErrorEquals: [], ...QUOTA_RETRY_SHAPE, MaxAttempts: attempts }) < QUOTA_WAIT_SECONDS) attempts++;
  return attempts;
}
export const QUOTA_RETRY: AslRetrier = { ErrorEquals: QUOTA_ERRORS, ...QUOTA_RETRY_SHAPE, MaxAttempts: quotaAttempts() };
/** Bounded: a request SageMaker rejects for good (a ValidationException has the same name) fails within minutes. */
export const THROTTLING_RETRY: AslRetrier = {
  ErrorEquals: THROTTLING_ERRORS,
  IntervalSeconds: 5,
  BackoffRate: 2,
  MaxDelaySeconds: 60,
  MaxAttempts: 6,
  JitterStrategy: "FULL",
};
const LAMBDA_RETRY: AslRetrier = {
  ErrorEquals: ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"],
  IntervalSeconds: 2,
  BackoffRate: 2,
  MaxAttempts: 6,
  JitterStrategy: "FULL",
};

/**
 * The notify function could not send its email (SMTP/SES refused or unreachable): asked again
 * with backoff, 10 s doubling, 5 more times (about 5 minutes in all). The function records each
 * attempt, so job-status shows `notification: retrying` meanwhile and `failed` after the last.
 */
export const EMAIL_NOT_SENT = "Spaceport.EmailNotSent";
export const EMAIL_RETRY: AslRetrier = {
  ErrorEquals: [EMAIL_NOT_SENT],
  IntervalSeconds: 10,
  BackoffRate: 2,
  MaxAttempts: 5,
  JitterStrategy: "FULL",
};

/** Longest a stage's job may take: its spot wait when it runs on spot, else its timeout. */
export function stageMaxWaitSeconds(compiled: CompiledStage): number {
  return compiled.kind === "training" && compiled.request.EnableManagedSpotTraining
    ? compiled.request.StoppingCondition!.MaxWaitTimeInSeconds!
    : compiled.stage.timeout.seconds;
}

function stageStates(compiled: CompiledStage, next: string, onFailure: string = STATE.notifyFailure): Record<string, AslState> {
  const { name, key } = compiled;
  const maxWait = stageMaxWaitSeconds(compiled);
  const catchAll: AslCatcher = { ErrorEquals: ["States.ALL"], ResultPath: `$.errors.${key}`, Next: STATE.check(name) };
  const resultSelector: Record<string, unknown> =
    compiled.kind === "training"
      ? { "jobName.$": "$.TrainingJobName", "status.$": "$.TrainingJobStatus", "modelArtifacts.$": "$.ModelArtifacts.S3ModelArtifacts" }
      : { "jobName.$": "$.ProcessingJobName", "status.$": "$.ProcessingJobStatus" };
  return {
    [STATE.prepare(name)]: {
      Type: "Pass",
      Comment: `Next attempt of ${name}: a new SageMaker job name, since names are unique forever`,
      Parameters: { "attempt.$": `States.MathAdd($.runs.${key}.attempt, 1)` },
      ResultPath: `$.runs.${key}`,
      Next: `${STATE.prepare(name)}: name`,
    },
    [`${STATE.prepare(name)}: name`]: {
      Type: "Pass",
      Parameters: {
        "attempt.$": `$.runs.${key}.attempt`,
        "jobName.$": `States.Format('${sageMakerJobName("{}", name, "{}")}', $.jobId, $.runs.${key}.attempt)`,
      },
      ResultPath: `$.runs.${key}`,
      Next: STATE.run(name),
    },
    [STATE.run(name)]: {
      Type: "Task",
      Comment: `${compiled.kind} job for stage ${name}`,
      Resource: compiled.resource,
      Parameters: toAslParameters(compiled.request) as Record<string, unknown>,
      ResultSelector: resultSelector,
      ResultPath: `$.stages.${key}`,
      TimeoutSeconds: maxWait + TASK_MARGIN_SECONDS,
      Retry: [QUOTA_RETRY, THROTTLING_RETRY],
      Catch: [catchAll],
      Next: next,
    },
    [STATE.check(name)]: {
      Type: "Choice",
      Comment: "A created job that failed for a passing reason gets another attempt under a new name",
      Choices: [
        {
          And: [
            { Variable: `$.runs.${key}.attempt`, NumericLessThan: MAX_JOB_ATTEMPTS },
            { Variable: `$.errors.${key}.Cause`, IsPresent: true },
            { Or: TRANSIENT_JOB_FAILURES.map((pattern) => ({ Variable: `$.errors.${key}.Cause`, StringMatches: pattern })) },
          ],
          Next: STATE.prepare(name),
        },
      ],
      Default: STATE.record(name),
    },
    [STATE.record(name)]: {
      Type: "Pass",
      // The redrive count at failure: a later redrive (a retry) is how "Job failed" knows to go on.
      Parameters: { stage: name, "error.$": `$.errors.${key}`, "redriveCount.$": "$$.Execution.RedriveCount" },
      ResultPath: "$.failure",
      Next: onFailure,
    },
  };
}

/**
 * Where a failed job ends, and where a retry picks it up. RedriveExecution reruns the state
 * that failed with its original input; a Fail state would just fail again, and a redriven
 * "Run" would reuse a SageMaker job name (unique forever). So the job fails *here*: a Choice
 * without Default fails (States.NoChoiceMatched) until the execution has been redriven since the
 * failure was recorded, then sends the failed stage to its "Prepare" state: the next attempt
 * number, a fresh job name, and every finished stage's output reused.
 */
function retryGate(stages: readonly CompiledStage[], entry: (stage: string) => string): AslState {
  return {
    Type: "Choice",
    Comment: "Failed; a retry (RedriveExecution) reruns the failed stage under a new attempt",
    Choices: stages.map((s) => ({
      And: [
        { Variable: "$.failure.stage", StringEquals: s.name },
        { Variable: "$$.Execution.RedriveCount", NumericGreaterThanPath: "$.failure.redriveCount" },
      ],
      Next: entry(s.name),
    })),
  };
}

function notifyState(target: CompileTarget, outcome: "succeeded" | "failed" | "preview", pipeline: Pipeline, next: string): AslState {
  const delivery = pipeline.delivery;
  const payload: AslFields<NotifyPayload> = {
    "jobId.$": "$.jobId",
    "email.$": "$.email",
    "options.$": "$.options",
    "stages.$": "$.stages",
    pipeline: pipeline.name,
    status: outcome,
  };
  if (outcome !== "failed") {
    payload["deliveryUri.$"] = `States.Format('${stageOutputUri(target.bucket, "{}", delivery.output)}', $.jobId)`;
  } else {
    payload["failure.$"] = "$.failure";
    payload["redriveCount.$"] = "$$.Execution.RedriveCount";
  }
  return {
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: target.notifyFunction, Payload: payload },
    ResultSelector: { "statusCode.$": "$.StatusCode" },
    ResultPath: "$.notification",
    Retry: [LAMBDA_RETRY, EMAIL_RETRY],
    // A notification that cannot be sent must not undo the job: its outputs stay, the
    // notify function's error alarm makes it visible.
    Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.notificationError", Next: next }],
    Next: next,
  };
}

/** What each Task state does, for the local runtime's handlers. */
function taskBindings(stages: readonly CompiledStage[], early: readonly EarlyRun[]): Record<string, TaskBinding> {
  const tasks: Record<string, TaskBinding> = {};
  for (const s of stages) tasks[s.runState] = { type: "sagemaker", stage: s.name, jobKind: s.kind };
  for (const run of early) {
    tasks[EARLY_STATE.runPreview(run)] = { type: "sagemaker", stage: run.consumer.name, jobKind: "processing" };
    tasks[EARLY_STATE.lookEarly(run)] = { type: "s3-list" };
    tasks[EARLY_STATE.lookFinal(run)] = { type: "s3-list" };
    tasks[EARLY_STATE.notifyPreview] = { type: "notify", outcome: "preview" };
  }
  tasks[STATE.notifySuccess] = { type: "notify", outcome: "succeeded" };
  tasks[STATE.notifyFailure] = { type: "notify", outcome: "failed" };
  return tasks;
}

function earlyParts(run: EarlyRun, producer: CompiledStage, stages: readonly CompiledStage[], target: CompileTarget, pipeline: Pipeline) {
  const consumer = stages.find((s): s is CompiledProcessingStage => s.kind === "processing" && s.name === run.consumer.name)!;
  return {
    run,
    target,
    producerStates: (next: string, onFailure: string) => stageStates(producer, next, onFailure),
    producerEntry: STATE.prepare(producer.name),
    producerKey: producer.key,
    producerMaxSeconds: stageMaxWaitSeconds(producer) + TASK_MARGIN_SECONDS,
    previewRequest: consumer.previewRequest!,
    consumerTimeoutSeconds: consumer.stage.timeout.seconds,
    notifyPreview: (next: string) => notifyState(target, "preview", pipeline, next),
    throttlingRetry: THROTTLING_RETRY,
    taskMarginSeconds: TASK_MARGIN_SECONDS,
  };
}

export function compile(pipeline: Pipeline, target: CompileTarget): CompiledPipeline {
  validateForEnvironment(pipeline, target.environment, target.config);
  const longestName = Math.max(...pipeline.stages.map((s) => s.name.length));
  if (JOB_ID_LENGTH + longestName + MAX_ATTEMPT_DIGITS + 2 > SAGEMAKER_JOB_NAME_MAX) {
    throw new Error(`stage names up to ${SAGEMAKER_JOB_NAME_MAX - JOB_ID_LENGTH - MAX_ATTEMPT_DIGITS - 2} characters keep SageMaker job names within ${SAGEMAKER_JOB_NAME_MAX}`);
  }

  const early = earlyRuns(pipeline);
  const stages: CompiledStage[] = pipeline.stages.map((stage) => {
    const common = { name: stage.name, key: stageKey(stage.name), runState: STATE.run(stage.name) };
    if (stage.kind === "processing") {
      const request = processingRequest(pipeline, stage, target);
      assertValidProcessingRequest(request);
      const run = early.find((r) => r.consumer.name === stage.name);
      const preview = run ? previewRequest(run, request, target.bucket) : undefined;
      if (preview) assertValidProcessingRequest(preview);
      return { ...common, kind: "processing", stage, request, ...(preview ? { previewRequest: preview } : {}), resource: "arn:aws:states:::sagemaker:createProcessingJob.sync" };
    }
    const request = trainingRequest(pipeline, stage, target);
    assertValidTrainingRequest(request);
    return { ...common, kind: "training", stage, request, resource: "arn:aws:states:::sagemaker:createTrainingJob.sync" };
  });

  const states: Record<string, AslState> = {
    [STATE.start]: {
      Type: "Pass",
      Comment: "Keep what the job was submitted with; set up attempt counters",
      Parameters: {
        "jobId.$": "$.jobId",
        "inputUri.$": "$.inputUri",
        "email.$": "$.email",
        "options.$": "$.options",
        runs: Object.fromEntries(stages.map((s) => [s.key, { attempt: 0, jobName: "" }])),
        stages: {},
        errors: {},
      },
      Next: STATE.prepare(stages[0]!.name),
    },
  };
  const earlyOf = (stage: string): EarlyRun | undefined => early.find((r) => r.producer.name === stage);
  // A stage starts at its Prepare state, a producer of an early output at its Parallel state.
  const entry = (stage: string): string => {
    const run = earlyOf(stage);
    return run ? EARLY_STATE.parallel(run) : STATE.prepare(stage);
  };
  (states[STATE.start] as { Next: string }).Next = entry(stages[0]!.name);
  stages.forEach((compiled, i) => {
    const next = i + 1 < stages.length ? entry(stages[i + 1]!.name) : STATE.notifySuccess;
    const run = earlyOf(compiled.name);
    if (!run) Object.assign(states, stageStates(compiled, next));
    else Object.assign(states, earlyStates(earlyParts(run, compiled, stages, target, pipeline), next, STATE.notifyFailure));
  });
  states[STATE.notifySuccess] = notifyState(target, "succeeded", pipeline, STATE.succeeded);
  states[STATE.notifyFailure] = notifyState(target, "failed", pipeline, STATE.failed);
  states[STATE.succeeded] = { Type: "Succeed" };
  states[STATE.failed] = retryGate(stages, entry);

  // A preview may run on after its producer ended, up to its own limit.
  const previewSeconds = early.reduce((sum, r) => sum + r.consumer.timeout.seconds + TASK_MARGIN_SECONDS, 0);
  const totalSeconds = stages.reduce((sum, s) => sum + stageMaxWaitSeconds(s) + TASK_MARGIN_SECONDS, previewSeconds);
  const definition: AslStateMachine = {
    Comment: `${pipeline.name} (${target.environment}): ${pipeline.stages.map((s) => s.name).join(" → ")}`,
    StartAt: STATE.start,
    // Room for the stages plus a day of waiting for quota.
    TimeoutSeconds: totalSeconds + QUOTA_WAIT_SECONDS,
    States: states,
  };

  const tasks = taskBindings(stages, early);

  return Object.freeze({
    pipeline,
    environment: target.environment,
    definition,
    definitionJson: JSON.stringify(definition, null, 2),
    stages,
    tasks,
  });
}
