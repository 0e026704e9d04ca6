/**
 * Stage definitions: the single source of truth for what a stage runs and on what.
 * Everything else (ASL, SageMaker requests, IAM, local runs, cost) is derived from these.
 */
import { seconds, type Duration } from "./duration.js";
import type { ExpectedDuration } from "./expected-duration.js";
import type { ImageRef } from "./image.js";
import type { InstanceType } from "./instances.js";

/** The job's own input (the photos ZIP), given when a job is submitted. */
export interface JobInputRef {
  readonly kind: "job-input";
}

/** Another stage's output, made with `stage.output("name")`: the name is checked by tsc. */
export interface OutputRef<S extends string = string, O extends string = string> {
  readonly kind: "stage-output";
  readonly stage: S;
  readonly output: O;
}

export type InputRef = JobInputRef | OutputRef;

/**
 * The early version of a training stage's output, made with `stage.earlyOutput("model")`: what a
 * downstream stage's `earlyInputs` consume while the training stage still runs.
 */
export interface EarlyOutputRef<S extends string = string, O extends string = string> {
  readonly kind: "early-output";
  readonly stage: S;
  readonly output: O;
}

/**
 * An output a training stage writes while it still runs (into its checkpoint folder, which
 * SageMaker copies to S3 during the job; the stage contract's EARLY_OUTPUTS_PATH). A stage that
 * declares `earlyInputs` on it runs once more on it as soon as it appears: a preview.
 */
export interface EarlyOutputOptions {
  /** What it is, for reviews and `npm run describe`: "the model after a tenth of the steps". */
  readonly description: string;
  /**
   * The job options for which the stage writes it, by option name: `{ quality: ["standard", "high"] }`.
   * Default: every job. The cost and capacity estimates count the early run for these only; the
   * state machine looks for the output on every job (and stops looking when the stage ends).
   */
  readonly when?: Readonly<Record<string, readonly string[]>>;
  /** How often the state machine looks for it. Default 60 s; longer where the stage's time limit needs more than MAX_EARLY_POLLS looks. */
  readonly pollEvery?: Duration;
}

export interface EarlyOutput {
  readonly description: string;
  readonly when?: Readonly<Record<string, readonly string[]>>;
  readonly pollEvery: Duration;
}

export const DEFAULT_EARLY_POLL_SECONDS = 60;

/** A per-job choice the submitter makes (e.g. quality), declared once and validated everywhere. */
export interface JobOption<N extends string = string, V extends string = string> {
  readonly kind: "job-option";
  readonly name: N;
  readonly values: readonly V[];
  readonly default: V;
  readonly description: string;
}

export type HyperparameterValue = string | number | boolean | JobOption;

export interface InstanceConfig {
  readonly type: InstanceType;
  /** Instances per job (default 1). */
  readonly count?: number;
  /** ML storage volume in GB (default 30). */
  readonly volumeSizeGb?: number;
}

interface StageOptionsBase<N extends string, I extends Record<string, InputRef>> {
  /** Lowercase letters, digits and dashes; also the S3 prefix of its outputs. */
  readonly name: N;
  readonly image: ImageRef;
  readonly instance: InstanceConfig;
  /** Hard limit on the job's runtime (SageMaker StoppingCondition). */
  readonly timeout: Duration;
  /** What a typical job takes on this instance: the cost model's basis; `byOption(quality, {...})` where a job option changes it. */
  readonly expectedDuration?: ExpectedDuration;
  readonly inputs: I;
  /** Environment variables for the container. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly description?: string;
  /** The stage's name in what a customer reads (emails, job status); default: its name. */
  readonly label?: string;
  /** What a customer can do when this stage fails for a reason of their own (the failure email, job status). */
  readonly failureAdvice?: string;
  /**
   * Network access for the container, with the reason it needs it. Default: none (SageMaker
   * network isolation; SageMaker itself downloads the inputs and uploads the outputs), so a
   * container parsing untrusted input cannot reach anything else.
   */
  readonly networkAccess?: NetworkAccess;
}

export interface NetworkAccess {
  /** Why the stage cannot run isolated (shown in reviews of the compiled request). */
  readonly reason: string;
}

export interface ProcessingStageOptions<N extends string, I extends Record<string, InputRef>, O extends string>
  extends StageOptionsBase<N, I> {
  /** Output folders; each becomes `/opt/ml/processing/output/<name>` and `jobs/<jobId>/<name>/`. */
  readonly outputs: readonly O[];
  /**
   * Files of this stage's delivered output that a finished job links to (job status, success
   * email), by link name: `{ viewer: "index.html" }`. Only the stage holding the pipeline's delivery has them.
   */
  readonly links?: Readonly<Record<string, string>>;
  /**
   * Inputs this stage also consumes early: `{ model: training.earlyOutput("model") }` runs the
   * stage once more, on the early version of that input, as soon as it appears while the
   * training stage still runs; that run writes the same outputs, marked as a preview, and the
   * stage's normal run replaces them. Each name must be one of `inputs`, reading that same output.
   */
  readonly earlyInputs?: Readonly<Record<string, EarlyOutputRef>>;
}

/** A number the trainer prints, read from its log as a SageMaker metric (CloudWatch). */
export interface MetricDefinition {
  readonly name: string;
  /** A regular expression whose first group is the number. */
  readonly regex: string;
}

export interface SpotConfig {
  /** Longest total wait for spot capacity plus runtime (must be at least the timeout). */
  readonly maxWait: Duration;
}

export interface TrainingStageOptions<N extends string, I extends Record<string, InputRef>>
  extends StageOptionsBase<N, I> {
  readonly hyperparameters?: Readonly<Record<string, HyperparameterValue>>;
  /** Managed spot training: cheaper, may be interrupted; the trainer resumes from checkpoints. */
  readonly spot?: SpotConfig;
  /** Numbers the trainer prints that SageMaker records as metrics (besides every stage's progress). */
  readonly metrics?: readonly MetricDefinition[];
  /** Outputs the stage also writes early, while it runs (see EarlyOutputOptions). */
  readonly earlyOutputs?: { readonly model?: EarlyOutputOptions };
}

interface StageCommon<N extends string, O extends string> {
  readonly name: N;
  readonly image: ImageRef;
  readonly instance: Required<InstanceConfig>;
  readonly timeout: Duration;
  readonly expectedDuration?: ExpectedDuration;
  readonly inputs: Readonly<Record<string, InputRef>>;
  readonly outputs: readonly O[];
  readonly environment: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly label?: string;
  readonly failureAdvice?: string;
  readonly networkAccess?: NetworkAccess;
  /** A typed reference to one of this stage's outputs, for another stage's `inputs`. */
  output<K extends O>(name: K): OutputRef<N, K>;
}

export interface ProcessingStage<N extends string = string, O extends string = string> extends StageCommon<N, O> {
  readonly kind: "processing";
  readonly links: Readonly<Record<string, string>>;
  readonly earlyInputs: Readonly<Record<string, EarlyOutputRef>>;
}

export interface TrainingStage<N extends string = string> extends StageCommon<N, "model"> {
  readonly kind: "training";
  readonly hyperparameters: Readonly<Record<string, HyperparameterValue>>;
  readonly spot?: SpotConfig;
  readonly metrics: readonly MetricDefinition[];
  readonly earlyOutputs: Readonly<Record<string, EarlyOutput>>;
  /** A reference to the early version of an output declared in `earlyOutputs`, for another stage's `earlyInputs`. */
  earlyOutput<K extends "model">(name: K): EarlyOutputRef<N, K>;
}

export type Stage = ProcessingStage | TrainingStage;

export const DEFAULT_VOLUME_SIZE_GB = 30;

export function jobInput(): JobInputRef {
  return { kind: "job-input" };
}

export function jobOption<N extends string, const V extends string>(option: {
  name: N;
  values: readonly V[];
  default: NoInfer<V>;
  description: string;
}): JobOption<N, V> {
  if (!option.values.includes(option.default)) {
    throw new Error(`jobOption "${option.name}": default "${option.default}" is not one of ${option.values.join(", ")}`);
  }
  return Object.freeze({ kind: "job-option", ...option, values: Object.freeze([...option.values]) });
}

function outputFn<N extends string, O extends string>(name: N, outputs: readonly O[]) {
  return <K extends O>(output: K): OutputRef<N, K> => {
    // Plain-JS callers bypass tsc: check at run time too.
    if (!outputs.includes(output)) {
      throw new Error(`stage "${name}" has no output "${output}" (outputs: ${outputs.join(", ") || "none"})`);
    }
    return Object.freeze({ kind: "stage-output", stage: name, output });
  };
}

function commonFields<N extends string>(options: StageOptionsBase<N, Record<string, InputRef>>) {
  return {
    name: options.name,
    image: options.image,
    instance: {
      type: options.instance.type,
      count: options.instance.count ?? 1,
      volumeSizeGb: options.instance.volumeSizeGb ?? DEFAULT_VOLUME_SIZE_GB,
    },
    timeout: options.timeout,
    ...(options.expectedDuration ? { expectedDuration: options.expectedDuration } : {}),
    inputs: Object.freeze({ ...options.inputs }),
    environment: Object.freeze({ ...(options.environment ?? {}) }),
    ...(options.description ? { description: options.description } : {}),
    ...(options.label ? { label: options.label } : {}),
    ...(options.failureAdvice ? { failureAdvice: options.failureAdvice } : {}),
    ...(options.networkAccess ? { networkAccess: Object.freeze({ ...options.networkAccess }) } : {}),
  };
}

/** A SageMaker Processing job (CPU work: SfM, compression). */
export function processingStage<N extends string, I extends Record<string, InputRef>, const O extends string>(
  options: ProcessingStageOptions<N, I, O> & { spot?: never; hyperparameters?: never },
): ProcessingStage<N, O> {
  if ((options as { spot?: unknown }).spot !== undefined) {
    throw new Error(`stage "${options.name}": spot: managed spot exists for training jobs only; processing jobs have none`);
  }
  if ((options as { hyperparameters?: unknown }).hyperparameters !== undefined) {
    throw new Error(`stage "${options.name}": hyperparameters: processing jobs take settings as environment variables`);
  }
  return Object.freeze({
    kind: "processing" as const,
    ...commonFields(options),
    outputs: Object.freeze([...options.outputs]),
    links: Object.freeze({ ...(options.links ?? {}) }),
    earlyInputs: Object.freeze({ ...(options.earlyInputs ?? {}) }),
    output: outputFn(options.name, options.outputs),
  });
}

/** A SageMaker Training job (GPU work). Its one output is the packed model ("model"). */
export function trainingStage<N extends string, I extends Record<string, InputRef>>(
  options: TrainingStageOptions<N, I>,
): TrainingStage<N> {
  const outputs = ["model"] as const;
  const earlyOutputs: Record<string, EarlyOutput> = {};
  for (const [output, early] of Object.entries(options.earlyOutputs ?? {})) {
    if (early === undefined) continue;
    earlyOutputs[output] = Object.freeze({
      description: early.description,
      ...(early.when ? { when: Object.freeze({ ...early.when }) } : {}),
      pollEvery: early.pollEvery ?? seconds(DEFAULT_EARLY_POLL_SECONDS),
    });
  }
  return Object.freeze({
    kind: "training" as const,
    ...commonFields(options),
    outputs,
    hyperparameters: Object.freeze({ ...(options.hyperparameters ?? {}) }),
    ...(options.spot ? { spot: options.spot } : {}),
    metrics: Object.freeze((options.metrics ?? []).map((m) => Object.freeze({ name: m.name, regex: m.regex }))),
    earlyOutputs: Object.freeze(earlyOutputs),
    output: outputFn(options.name, outputs),
    earlyOutput: <K extends "model">(output: K): EarlyOutputRef<N, K> => {
      if (!earlyOutputs[output]) {
        throw new Error(`stage "${options.name}" declares no early output "${output}" (earlyOutputs: ${Object.keys(earlyOutputs).join(", ") || "none"})`);
      }
      return Object.freeze({ kind: "early-output", stage: options.name, output });
    },
  });
}
