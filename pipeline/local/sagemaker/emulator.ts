/**
 * The local SageMaker's API face: what `createProcessingJob.sync` / `createTrainingJob.sync`
 * do, on one machine. Each call validates the request as SageMaker does (the compiler's own
 * checks), enforces the environment's quotas (ResourceLimitExceeded, so the state machine's
 * Retry is what makes a job wait), then runs the job: the container contract (container.ts),
 * its program started natively or with Docker (launchers.ts, stage-process.ts), its log and
 * failure read as SageMaker does (logs.ts), and an answer like Describe*Job (kinds.ts). A failed
 * job throws `States.TaskFailed` whose cause is that Describe JSON.
 */
import { EventEmitter } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import type { CreateProcessingJobRequest, CreateTrainingJobRequest, Tag } from "@aws-sdk/client-sagemaker";
import type { Pipeline } from "../../define.js";
import type { Quota } from "../../environment.js";
import { quotaFor } from "../../quotas.js";
import { INSTANCE_TYPES, isInstanceType, type InstanceType } from "../../instances.js";
import { TAGS } from "../../layout.js";
import { PREVIEW_VARIABLE } from "../../stage-contract.js";
import type { Stage } from "../../stage.js";
import type { DataDir } from "../data.js";
import { isAlive, type ProcessIdentity } from "../process.js";
import type { JobStore } from "../store.js";
import { prepareJobFolder, type JobFolder } from "./container.js";
import { CorePool, threadEnvironment } from "./cores.js";
import { clientFailure, jobArn, NamedError, type JobKind, type JobSpec, type RunOutcome } from "./job-spec.js";
import { processingContract, trainingContract, type JobKindContract } from "./kinds.js";
import { hasNvidia, localAccelerator } from "./docker.js";
import { DockerLauncher, NativeLauncher, type Launcher } from "./launchers.js";
import { failureReason } from "./logs.js";
import { killStage, runStageProcess, type RunningProcess } from "./stage-process.js";
import { LINKS_WHILE_SERVED_ENV } from "../../stage-contract.js";

export type { JobKind } from "./job-spec.js";
export { reroot } from "./container.js";
export { missingDependencyHint } from "./logs.js";

export interface LogLine {
  readonly stage: string;
  readonly jobName: string;
  readonly stream: "stdout" | "stderr" | "runtime";
  readonly line: string;
}
export interface ProgressUpdate {
  readonly stage: string;
  readonly jobName: string;
  readonly kind: JobKind;
  readonly percent: number;
  readonly what: string;
}
export interface JobEvent {
  readonly stage: string;
  readonly jobName: string;
  readonly kind: JobKind;
  readonly execution: string;
  readonly status: "InProgress" | "Completed" | "Failed" | "Stopped";
  readonly failureReason?: string;
}

/** How long a waiter may be away between asks (the state machine's quota Retry interval) and keep its place. */
const QUOTA_QUEUE_GRACE_MS = 30_000;

/** A create call found the quota in use and holds for a free instance. */
export interface QuotaWait {
  readonly stage: string;
  readonly jobName: string;
  readonly execution: string;
  readonly instanceType: string;
  readonly inUse: number;
  readonly quota: number;
}

export interface EmulatorEvents {
  waiting: [QuotaWait];
  log: [LogLine];
  progress: [ProgressUpdate];
  job: [JobEvent];
}

export interface SageMakerEmulatorOptions {
  readonly data: DataDir;
  readonly store: JobStore;
  /** Repository root: stage entry programs and image folders are relative to it. */
  readonly repoRoot: string;
  readonly pipeline: Pipeline;
  /** Image URI per stage name, as in the compile target: how a request finds its stage. */
  readonly images: Readonly<Record<string, string>>;
  readonly quotas: readonly Quota[];
  readonly owner: ProcessIdentity;
  /** Run each stage's image with `docker run` instead of its entry program. */
  readonly docker?: boolean;
  /**
   * A create call over quota first waits this long for an instance to free up, then answers
   * ResourceLimitExceeded (and the state machine's Retry asks again). Default 120 s: with the
   * compiled 100 quota retries that is about 3.4 hours of waiting, as a local CPU run of a long
   * stage may take; a freed instance is taken at once, not at the next retry.
   */
  readonly quotaHoldMs?: number;
  /** After SIGTERM on MaxRuntimeInSeconds, how long before SIGKILL. Default 10 s. */
  readonly stopGraceMs?: number;
  /** Python that checks a stage's requirements (SPACEPORT_PYTHON, else python3). */
  readonly python?: string;
  /**
   * CPU cores stage processes share (default: all of this machine's); see cores.ts.
   * "unshared": each stage sizes its threads itself, as on a dedicated instance, whatever else
   * runs (the benchmark's baseline; oversubscribes when stages run side by side).
   */
  readonly cores?: number | "unshared";
}

export class SageMakerEmulator extends EventEmitter<EmulatorEvents> {
  private readonly running = new Map<string, RunningProcess>();
  private readonly releases = new EventEmitter();
  private readonly launcher: Launcher;
  private closed = false;
  /** Jobs a stop request ended: they finish `Stopped`, not `Failed`. */
  private readonly stopped = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly cores: CorePool | undefined;
  private readonly nvidiaHere = hasNvidia();

  constructor(readonly options: SageMakerEmulatorOptions) {
    super();
    this.cores = options.cores === "unshared" ? undefined : new CorePool(options.cores);
    this.releases.setMaxListeners(0);
    this.launcher = options.docker
      ? new DockerLauncher(options.repoRoot, (job) => options.store.getSageMakerJob(job)?.instanceType, options.pipeline.stages.map((s) => s.name), this.nvidiaHere)
      : new NativeLauncher(options.repoRoot, options.python ?? process.env["SPACEPORT_PYTHON"] ?? "python3");
  }

  /** Runs one `createProcessingJob.sync` task: resolves with the Describe answer or throws. */
  processingJob(request: CreateProcessingJobRequest): Promise<Record<string, unknown>> {
    return this.track(Promise.resolve().then(() => this.runJob(processingContract(this.options.data, request))));
  }

  /** Runs one `createTrainingJob.sync` task. */
  trainingJob(request: CreateTrainingJobRequest): Promise<Record<string, unknown>> {
    return this.track(Promise.resolve().then(() => this.runJob(trainingContract(this.options.data, request))));
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    void promise.then(() => this.inflight.delete(promise), () => this.inflight.delete(promise));
    return promise;
  }

  /** The one structure of both job kinds: quota, /opt/ml, run, outputs, Describe answer. */
  private async runJob(job: JobKindContract): Promise<Record<string, unknown>> {
    const stage = this.stageFor(job.imageUri);
    await this.acquire(job, stage);
    const created = new Date();
    const folder = prepareJobFolder(this.options.data, job.name);
    let outcome: RunOutcome;
    try {
      const layout = job.layOut(folder);
      const during = job.whileRunning?.(folder);
      try {
        outcome = await this.run({ name: job.name, kind: job.kind, stage, optMl: folder.optMl, ...layout, ...(job.maxRuntimeSeconds !== undefined ? { maxRuntimeSeconds: job.maxRuntimeSeconds } : {}) });
      } finally {
        during?.stop();
      }
      outcome = await this.collect(job, folder, outcome);
    } catch (error) {
      outcome = clientFailure(error);
    }
    const stopped = this.stopped.delete(job.name) && !outcome.ok;
    const reason = outcome.ok ? undefined : stopped ? `stage ${stage.name} was stopped on request` : this.failureReason(stage, outcome, folder, job.maxRuntimeSeconds);
    const status = outcome.ok ? "Completed" : stopped ? "Stopped" : "Failed";
    const described = job.describe(folder, { created, ended: new Date(), outcome, ...(reason ? { reason } : {}) });
    const result = stopped ? { ...described, [job.kind === "processing" ? "ProcessingJobStatus" : "TrainingJobStatus"]: "Stopped" } : described;
    this.finish(job, stage, status, result, reason);
    if (!outcome.ok) throw new NamedError("States.TaskFailed", JSON.stringify(result));
    return result;
  }

  private async collect(job: JobKindContract, folder: JobFolder, outcome: RunOutcome): Promise<RunOutcome> {
    try {
      await job.collect(folder, outcome.ok);
      return outcome;
    } catch (error) {
      return { ...clientFailure(error), ...(outcome.metrics ? { metrics: outcome.metrics } : {}) };
    }
  }

  private failureReason(stage: Stage, outcome: RunOutcome, folder: JobFolder, maxRuntime: number | undefined): string {
    if (this.closed) return `the local runtime was stopped while stage ${stage.name} was running`;
    return failureReason(stage.name, outcome, folder.optMl, maxRuntime);
  }

  /** Runs the stage process on the cores granted to it (at most its instance type's vCPUs). */
  private async run(spec: JobSpec): Promise<RunOutcome> {
    if (!this.cores) return this.launch(spec);
    const instanceType = this.options.store.getSageMakerJob(spec.name)?.instanceType;
    const vcpus = instanceType && isInstanceType(instanceType) ? INSTANCE_TYPES[instanceType].vcpu : this.cores.total;
    const borrow = spec.environment[PREVIEW_VARIABLE] === "1";
    if (!borrow && (this.cores.inUse >= this.cores.total || this.cores.waiting > 0)) {
      const line = `waiting for a free CPU core (${this.cores.inUse} of ${this.cores.total} in use by other stages)`;
      createWriteStream(jobLogPath(spec), { flags: "a" }).end(`${line}\n`);
      this.emit("log", { stage: spec.stage.name, jobName: spec.name, stream: "runtime", line });
    }
    const grant = await this.cores.acquire(Math.min(vcpus, this.cores.total), { borrow });
    try {
      if (this.closed) return clientFailure(new NamedError("SageMaker.ServiceUnavailable", "the local runtime is shutting down"));
      // The request's own variables win: a stage may pin its threads itself.
      return await this.launch({ ...spec, environment: { ...threadEnvironment(grant.cores), ...spec.environment } });
    } finally {
      grant.release();
    }
  }

  /** Starts the stage's program for a job and waits for it; its log goes to `<job>/log.txt` and out as events. */
  private async launch(spec: JobSpec): Promise<RunOutcome> {
    const logFile = createWriteStream(jobLogPath(spec), { flags: "a" });
    const log = (stream: LogLine["stream"], line: string) => {
      logFile.write(`${stream === "stderr" ? "! " : ""}${line}\n`);
      this.emit("log", { stage: spec.stage.name, jobName: spec.name, stream, line });
    };
    // links of a local run work while this machine serves them, whatever the retention the request carries
    const environment: Record<string, string> = { SPACEPORT_SAGEMAKER_JOB: spec.name, SPACEPORT_STAGE: spec.stage.name, ...spec.environment, [LINKS_WHILE_SERVED_ENV]: "1" };
    // Like SageMaker, a GPU instance's GPUs reach the stage where this machine has them; without
    // them here the stage runs on CPU, and says so (on AWS it would refuse to).
    const instanceType = this.options.store.getSageMakerJob(spec.name)?.instanceType;
    if (environment["SPACEPORT_ACCELERATOR"] === "nvidia" && localAccelerator(instanceType, this.nvidiaHere) === "none") {
      environment["SPACEPORT_ACCELERATOR"] = "none";
      log("runtime", `${instanceType} has an NVIDIA GPU and this machine has none: the stage runs on CPU (SPACEPORT_ACCELERATOR=none)`);
    }
    try {
      const launch = await this.launcher.prepare(spec, environment, (line) => log("runtime", line));
      log("runtime", `${spec.kind} job ${spec.name}: ${launch.docker ? "docker" : "native"} run of ${spec.stage.name} (${[launch.command, ...launch.args].join(" ")})`);
      return await runStageProcess(spec, launch, environment, {
        log,
        progress: (percent, what) => {
          this.options.store.setProgress(spec.name, spec.kind, percent, what, new Date());
          this.emit("progress", { stage: spec.stage.name, jobName: spec.name, kind: spec.kind, percent, what });
        },
        started: (running) => {
          this.running.set(spec.name, running);
          if (running.child.pid !== undefined) this.options.store.setSageMakerJobPid(spec.name, running.child.pid);
        },
        stopGraceMs: this.options.stopGraceMs ?? 10_000,
      });
    } catch (error) {
      return clientFailure(error);
    } finally {
      this.running.delete(spec.name);
      await new Promise((done) => logFile.end(done));
    }
  }

  /**
   * StopProcessingJob / StopTrainingJob: SIGTERM to the job's process group, SIGKILL after the
   * grace period; the job ends `Stopped`. False when no such job runs here.
   */
  async stop(jobName: string): Promise<boolean> {
    const p = this.running.get(jobName);
    if (!p) return false;
    this.stopped.add(jobName);
    await new Promise<void>((done) => {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return done();
      p.child.once("close", () => done());
      killStage(p, "SIGTERM");
      setTimeout(() => killStage(p, "SIGKILL"), this.options.stopGraceMs ?? 10_000).unref();
    });
    return true;
  }

  /** Stops the jobs of one execution (a job id) still running here; answers how many. */
  async stopJobsOf(execution: string): Promise<number> {
    const names = [...this.running.keys()].filter((name) => this.options.store.getSageMakerJob(name)?.execution === execution);
    await Promise.all(names.map((name) => this.stop(name)));
    return names.length;
  }

  /** Stops every job this emulator runs (SIGTERM to its process group). */
  async close(): Promise<void> {
    this.closed = true;
    const waits = [...this.running.values()].map(
      (p) => new Promise<void>((done) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return done();
        p.child.once("close", () => done());
        killStage(p, "SIGTERM");
        setTimeout(() => { killStage(p, "SIGKILL"); done(); }, 2000).unref();
      }),
    );
    this.releases.emit("release");
    await Promise.all(waits);
    await Promise.allSettled([...this.inflight]);
  }

  /** Kills what a dead owner left running, when it still is our stage program. */
  static killOrphan(pid: number, jobName: string, isStageProcess: (pid: number, name: string) => boolean): boolean {
    if (!isStageProcess(pid, jobName)) return false;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      try { process.kill(pid, "SIGKILL"); } catch { return false; }
    }
    return true;
  }

  private stageFor(imageUri: string): Stage {
    const entry = Object.entries(this.options.images).find(([, uri]) => uri === imageUri);
    const stage = entry && this.options.pipeline.stages.find((s) => s.name === entry[0]);
    if (!stage) {
      throw new NamedError("SageMaker.ValidationException", `image ${imageUri} is not the image of any stage of pipeline ${this.options.pipeline.name}`);
    }
    return stage;
  }

  /** Creates the job record within quota, holding up to quotaHoldMs for a free instance; waiters queue first come, first served. */
  private async acquire(job: JobKindContract, stage: Stage): Promise<void> {
    if (this.closed) throw new NamedError("SageMaker.ServiceUnavailable", "the local runtime is shutting down");
    const { name, kind, instance } = job;
    const execution = executionOf(job.tags);
    // Managed spot draws on its own quota, as on AWS.
    const quota = quotaFor({ quotas: this.options.quotas as Quota[] }, instance.type as InstanceType, job.quotaKind) ?? 0;
    const deadline = Date.now() + (this.options.quotaHoldMs ?? 120_000);
    let announced = false;
    for (;;) {
      const record = { name, kind, stage: stage.name, execution, instanceType: instance.type, instanceCount: instance.count, created: new Date(), owner: this.options.owner };
      // A waiter between two asks (the state machine's Retry interval) keeps its place in the queue.
      const result = this.options.store.createSageMakerJob(record, quota, { isLive: isAlive, staleMs: (this.options.quotaHoldMs ?? 120_000) + QUOTA_QUEUE_GRACE_MS });
      if (result.created) break;
      if (result.reason === "exists") {
        throw new NamedError("SageMaker.ResourceInUse", `Job name must be unique within an AWS account and region, and a job with this name already exists (${jobArn(kind, name)})`);
      }
      const wait = deadline - Date.now();
      if (!announced) {
        announced = true;
        this.emit("waiting", { stage: stage.name, jobName: name, execution, instanceType: instance.type, inUse: result.inUse, quota });
      }
      if (wait <= 0 || this.closed) {
        throw new NamedError(
          "SageMaker.ResourceLimitExceededException",
          `The account-level service limit '${instance.type} for ${kind} job usage' is ${quota} Instances, with current utilization of ${result.inUse} Instances and a request delta of ${instance.count} Instances. Please use AWS Service Quotas to request an increase for this quota.`,
        );
      }
      await this.released(wait);
    }
    this.emit("job", { stage: stage.name, jobName: name, kind, execution, status: "InProgress" });
  }

  /** Woken by a local release, or after at most 500 ms, to see releases by other processes on this data dir. */
  private released(wait: number): Promise<void> {
    return new Promise<void>((done) => {
      const finish = () => {
        clearTimeout(timer);
        this.releases.off("release", finish);
        done();
      };
      const timer = setTimeout(finish, Math.min(wait, 500));
      this.releases.once("release", finish);
    });
  }

  private finish(job: JobKindContract, stage: Stage, status: "Completed" | "Failed" | "Stopped", describe: Record<string, unknown>, reason?: string): void {
    const row = this.options.store.getSageMakerJob(job.name);
    this.options.store.finishSageMakerJob(job.name, status, new Date(), describe);
    this.releases.emit("release");
    this.emit("job", { stage: stage.name, jobName: job.name, kind: job.kind, execution: row?.execution ?? "", status, ...(reason ? { failureReason: reason } : {}) });
  }
}

/** The job id a SageMaker job belongs to: its `spaceport:job` tag (the compiled requests carry it). */
function executionOf(tags: readonly Tag[]): string {
  return tags.find((t) => t.Key === TAGS.job)?.Value ?? "";
}

/** `<data>/sagemaker/<job>/log.txt`: beside the job's opt/ml folder. */
const jobLogPath = (spec: JobSpec): string => join(spec.optMl, "..", "..", "log.txt");
