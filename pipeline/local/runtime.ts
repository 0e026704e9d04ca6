/**
 * The local runtime, assembled: one compile of the pipeline for an environment, the job store,
 * the SageMaker emulator behind the state machine's SageMaker tasks, the notify function
 * behind its notify tasks, and recovery of jobs whose runtime died.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import type { CompileTarget, CompiledPipeline } from "../compile.js";
import { compile } from "../compile.js";
import type { Pipeline } from "../define.js";
import type { EnvironmentConfig } from "../environment.js";
import { parseJsonObject } from "../json.js";
import { redriveCountOf } from "../../functions/markers.js";
import type { NotifyPayload } from "../notify-payload.js";
import { DataDir } from "./data.js";
import { LocalExecutions, type TaskHandler } from "./executions.js";
import { currentProcess, isAlive, isStageProcess, type ProcessIdentity } from "./process.js";
import { SageMakerEmulator } from "./sagemaker/emulator.js";
import { NotificationRetrier, type NotificationOutcome, type NotifyFunction } from "./notify-retry.js";
import { JobStore } from "./store.js";
import { listObjects, type ListObjectsInput } from "./s3-list.js";
import { allStates } from "../asl.js";
import { isPreviewJobName } from "../layout.js";
import { localTarget, readEnvironment } from "./target.js";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export type { NotifyFunction };

export interface RetryIntervals {
  /** Wait between asks while the quota is in use (the quota retrier). Default 1000 ms. */
  readonly quotaMs?: number;
  /** Throttling retrier. Default 500 ms. */
  readonly throttleMs?: number;
  /** Notify (Lambda) retrier. Default 500 ms. */
  readonly lambdaMs?: number;
  /**
   * First wait of the email retrier (an email that could not be sent), doubling after each
   * attempt. Default: the compiled retrier's own backoff (10 s, 20 s, 40 s, ...).
   */
  readonly emailMs?: number;
  /**
   * Every Wait state (the looks for an early output, 60 s or more). Default: the state's own
   * Seconds, as on AWS; a test's shorter wait also shortens how long the bounded looks last.
   */
  readonly pollMs?: number;
}

export interface LocalRuntimeOptions {
  readonly dataDir: string;
  readonly repoRoot?: string;
  /** Environment whose config (quotas, overrides) and names are used. Default "prod". */
  readonly environment?: string;
  /** The environment's config; default: `Pulumi.<environment>.yaml` (or `configFile`). */
  readonly config?: EnvironmentConfig;
  readonly configFile?: string;
  /** The pipeline to run (the composition root, stages/cli.ts, passes Spaceport's). */
  readonly pipeline: Pipeline;
  /** Default: the local target (`localTarget`). */
  readonly target?: CompileTarget;
  readonly docker?: boolean;
  /** The notify function (the functions' notify handler with local adapters). */
  readonly notify: NotifyFunction;
  readonly retry?: RetryIntervals;
  readonly quotaHoldMs?: number;
  readonly stopGraceMs?: number;
  /** CPU cores the stage processes share (default: all of this machine's; see the emulator's option). */
  readonly cores?: number | "unshared";
  readonly onEvent?: ConstructorParameters<typeof LocalExecutions>[0]["onEvent"];
}

export interface RecoveredJob {
  readonly jobId: string;
  readonly stage?: string;
  readonly reason: string;
  /** Whether the submitter was told (first attempt; a failed one is retried with backoff). */
  readonly notification: NotificationOutcome;
}

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class LocalRuntime {
  readonly data: DataDir;
  readonly store: JobStore;
  readonly owner: ProcessIdentity;
  readonly environment: string;
  readonly config: EnvironmentConfig;
  readonly pipeline: Pipeline;
  readonly target: CompileTarget;
  readonly compiled: CompiledPipeline;
  readonly emulator: SageMakerEmulator;
  readonly executions: LocalExecutions;
  readonly repoRoot: string;
  private readonly notify: NotifyFunction;
  private readonly notifications: NotificationRetrier;

  constructor(options: LocalRuntimeOptions) {
    this.repoRoot = options.repoRoot ?? REPO_ROOT;
    this.environment = options.environment ?? "prod";
    this.config = options.config ?? readEnvironment(this.repoRoot, this.environment, options.configFile);
    this.pipeline = options.pipeline;
    this.target = options.target ?? localTarget(this.environment, this.config, this.pipeline);
    // One compile, two runtimes: this string is what runs, unchanged.
    this.compiled = compile(this.pipeline, this.target);
    this.data = new DataDir(options.dataDir);
    this.store = new JobStore(this.data.database);
    this.owner = currentProcess();
    this.notify = options.notify;
    this.notifications = new NotificationRetrier(this.store, this.notify, options.retry?.emailMs);
    this.emulator = new SageMakerEmulator({
      data: this.data,
      store: this.store,
      repoRoot: this.repoRoot,
      pipeline: this.pipeline,
      images: this.target.images,
      quotas: this.config.quotas,
      owner: this.owner,
      ...(options.docker ? { docker: true } : {}),
      ...(options.quotaHoldMs !== undefined ? { quotaHoldMs: options.quotaHoldMs } : {}),
      ...(options.stopGraceMs !== undefined ? { stopGraceMs: options.stopGraceMs } : {}),
      ...(options.cores !== undefined ? { cores: options.cores } : {}),
    });
    const retry = { quotaMs: 1000, throttleMs: 500, lambdaMs: 500, ...options.retry };
    const handlers: Record<string, TaskHandler> = {};
    const retryIntervalOverrides: Record<string, number[]> = {};
    for (const [state, binding] of Object.entries(this.compiled.tasks)) {
      if (binding.type === "sagemaker") {
        handlers[state] =
          binding.jobKind === "processing"
            ? (input) => this.emulator.processingJob(input as unknown as CreateProcessingJobRequest) as Promise<never>
            : (input) => this.emulator.trainingJob(input as unknown as CreateTrainingJobRequest) as Promise<never>;
        // Retriers in the compiled order: quota, throttling.
        retryIntervalOverrides[state] = [retry.quotaMs, retry.throttleMs];
      } else if (binding.type === "s3-list") {
        handlers[state] = async (input) => listObjects(this.data, input as ListObjectsInput) as never;
        retryIntervalOverrides[state] = [retry.throttleMs];
      } else {
        handlers[state] = (input) => this.invokeNotify(input as unknown as { Payload?: unknown }) as Promise<never>;
        // Retriers in the compiled order: Lambda errors, then the email retrier (-1: its own backoff).
        retryIntervalOverrides[state] = [retry.lambdaMs, retry.emailMs ?? -1];
      }
    }
    // Wait states (the looks for an early output) wait pollMs where given (tests), else their own Seconds:
    // the looks are bounded by count, so a shorter wait would also shorten how long they look.
    const waits = Object.entries(allStates(this.compiled.definition)).filter(([, state]) => state.Type === "Wait");
    const pollMs = retry.pollMs;
    const waitTimeOverrides = pollMs === undefined ? undefined : Object.fromEntries(waits.map(([name]) => [name, pollMs]));
    this.executions = new LocalExecutions({
      store: this.store,
      definitionJson: this.compiled.definitionJson,
      handlers,
      retryIntervalOverrides,
      ...(waitTimeOverrides ? { waitTimeOverrides } : {}),
      // A Parallel that failed or an execution stopped leaves no SageMaker job of it running.
      onStopped: (execution) => void this.emulator.stopJobsOf(execution),
      owner: this.owner,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
    });
  }

  /** `lambda:invoke` with a local function: the answer has the invoke API's shape. */
  private async invokeNotify(input: { Payload?: unknown }): Promise<Record<string, unknown>> {
    try {
      const payload = await this.notify(input.Payload ?? {});
      return { StatusCode: 200, ExecutedVersion: "$LATEST", Payload: (payload ?? null) as unknown };
    } catch (error) {
      const e = error as Error;
      // A function error: Step Functions names it after the error type, the cause is Lambda's JSON.
      throw new NamedError(e?.name || "Error", JSON.stringify({ errorMessage: e?.message ?? String(error), errorType: e?.name ?? "Error", trace: String(e?.stack ?? "").split("\n") }));
    }
  }

  /**
   * Jobs whose runtime process died: their stage programs are stopped, their SageMaker jobs
   * and executions marked failed with that reason, and their submitters notified.
   */
  async recover(options: { includeOwn?: boolean } = {}): Promise<RecoveredJob[]> {
    const recovered: RecoveredJob[] = [];
    const own = (owner: ProcessIdentity) => owner.pid === this.owner.pid && owner.start === this.owner.start;
    const gone = (owner: ProcessIdentity) => (options.includeOwn && own(owner)) || !isAlive(owner);
    for (const job of this.store.runningSageMakerJobs()) {
      if (!gone(job.owner)) continue;
      if (job.pid !== undefined) SageMakerEmulator.killOrphan(job.pid, job.name, isStageProcess);
      const reason = `the local runtime stopped (process ${job.owner.pid} ${own(job.owner) ? "was stopped" : "exited"}) while this job was running`;
      this.store.finishSageMakerJob(job.name, "Failed", new Date(), {
        [job.kind === "processing" ? "ProcessingJobName" : "TrainingJobName"]: job.name,
        [job.kind === "processing" ? "ProcessingJobStatus" : "TrainingJobStatus"]: "Failed",
        FailureReason: reason,
      });
    }
    for (const execution of this.store.runningExecutions()) {
      if (!gone(execution.owner)) continue;
      const history = this.store.history(execution.name);
      // The stage: its latest SageMaker job (written before the job starts), else the last Run state seen.
      // A preview run beside a stage is not where the job stood: the stage it previews is.
      const lastJob = this.store.sageMakerJobsOf(execution.name).filter((j) => !isPreviewJobName(j.name)).at(-1);
      const lastRun = [...history].reverse().find((e) => e.stateName && this.compiled.tasks[e.stateName]?.type === "sagemaker");
      const binding = lastRun?.stateName ? this.compiled.tasks[lastRun.stateName] : undefined;
      const stage = lastJob?.stage ?? (binding?.type === "sagemaker" ? binding.stage : undefined);
      const lastInput = [...history].reverse().find((e) => e.type.endsWith("StateEntered") && e.json);
      const state = parseJsonObject(lastInput?.json) ?? parseJsonObject(execution.input) ?? {};
      const reason =
        `the local runtime stopped (process ${execution.owner.pid} ${own(execution.owner) ? "was stopped" : "exited"}) while this job was running` +
        (stage ? ` in stage ${stage}` : "") +
        "; nothing was lost: submit the job again to rerun it";
      const at = new Date();
      this.store.appendEvent(execution.name, { timestamp: at, type: "ExecutionFailed", error: "Spaceport.RuntimeStopped", cause: reason });
      if (!this.store.finishExecution(execution.name, "FAILED", at, { error: "Spaceport.RuntimeStopped", cause: reason })) continue;
      // The state's own fields, unchecked: the notify function validates what it receives.
      const payload: NotifyPayload = {
        jobId: (state["jobId"] as string | undefined) ?? execution.name,
        email: state["email"] as string,
        options: (state["options"] as Record<string, string> | undefined) ?? {},
        stages: (state["stages"] as Record<string, unknown> | undefined) ?? {},
        pipeline: this.pipeline.name,
        status: "failed",
        redriveCount: redriveCountOf(history),
        failure: { stage: stage ?? "(runtime)", error: { Error: "Spaceport.RuntimeStopped", Cause: reason } },
      };
      // Whether it was sent is the notification's own record, never an event of the job's history.
      const notification = await this.notifications.deliver(execution.name, payload, { schedule: !options.includeOwn });
      recovered.push({ jobId: execution.name, ...(stage ? { stage } : {}), reason, notification });
    }
    if (!options.includeOwn) this.notifications.resume();
    return recovered;
  }

  /**
   * Stops what runs here: the state machines first (so a killed stage does not run the
   * failure branch), then the stage programs; the jobs are then failed and their submitters
   * notified exactly as after a crash.
   */
  async close(): Promise<RecoveredJob[]> {
    await this.executions.close();
    await this.emulator.close();
    const recovered = await this.recover({ includeOwn: true });
    await this.notifications.close();
    this.store.close();
    return recovered;
  }
}

