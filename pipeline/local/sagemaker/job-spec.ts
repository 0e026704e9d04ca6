/**
 * One SageMaker job as the local SageMaker runs it: the spec of its stage process (instead of
 * a list of positional parameters), the outcome of that process, and the errors SageMaker answers.
 */
import type { Stage } from "../../stage.js";
import { SageMakerValidationError } from "../../sagemaker/validate-request.js";

export type JobKind = "processing" | "training";

/** A MetricDefinition of a training request. */
export interface Metric {
  readonly Name: string;
  readonly Regex: string;
}

/** What to start, where, for how long, and what to read from its log. */
export interface JobSpec {
  /** The SageMaker job name. */
  readonly name: string;
  readonly kind: JobKind;
  readonly stage: Stage;
  /** `<data>/sagemaker/<job>/opt/ml`: the job's container contract. */
  readonly optMl: string;
  /** Arguments of the entry program (`train` for training jobs). */
  readonly args: readonly string[];
  /** ContainerEntrypoint's program: replaces the image's ENTRYPOINT in a container (`args` follow it). */
  readonly entrypoint?: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly maxRuntimeSeconds?: number;
  readonly metricDefinitions: readonly Metric[];
}

export interface RunOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  /** The signal that ended the program, when one did. */
  readonly signal?: NodeJS.Signals | null;
  /** The program ran in a container (`docker run` reports signals as exit codes 128 + n). */
  readonly docker?: boolean;
  readonly timedOut: boolean;
  readonly lastLines: readonly string[];
  /** The job never ran its program properly: a reason on our side or the request's (ClientError). */
  readonly clientError?: string;
  /** Last value of each metric the log showed. */
  readonly metrics?: ReadonlyMap<string, number>;
}

/** An error with a Step Functions error name (`SageMaker.ValidationException`, `States.TaskFailed`). */
export class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A problem with the request or the job's set-up: the job fails with `ClientError: ...`. */
export class ClientError extends Error {}

export function clientFailure(error: unknown): RunOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, exitCode: null, timedOut: false, lastLines: [], clientError: message };
}

export function asSageMakerError(error: unknown): Error {
  if (error instanceof SageMakerValidationError) return new NamedError("SageMaker.ValidationException", error.message);
  return error as Error;
}

export const jobArn = (kind: JobKind, name: string): string =>
  `arn:aws:sagemaker:local:000000000000:${kind === "processing" ? "processing-job" : "training-job"}/${name.toLowerCase()}`;
