/**
 * The local SageMaker: what `createProcessingJob.sync` / `createTrainingJob.sync` do, on one
 * machine. Each call validates the request as SageMaker does (the compiler's own checks),
 * enforces the environment's quotas (ResourceLimitExceeded, so the state machine's Retry is
 * what makes a job wait), lays out the container contract under `<data>/sagemaker/<job>/opt/ml`,
 * runs the stage's entry program (natively, or its image with Docker), streams its log,
 * enforces MaxRuntimeInSeconds, copies outputs into the local buckets and answers like
 * Describe*Job. A failed job throws `States.TaskFailed` whose cause is that Describe JSON.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, accessSync, constants } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import * as tar from "tar";
import type { Pipeline } from "../../define.js";
import { quotaFor, type Quota } from "../../environment.js";
import { INSTANCE_TYPES, isInstanceType, type InstanceType } from "../../instances.js";
import { assertValidProcessingRequest, assertValidTrainingRequest, SageMakerValidationError } from "../../sagemaker/validate-request.js";
import type { Stage } from "../../stage.js";
import type { DataDir } from "../data.js";
import type { ProcessIdentity } from "../process.js";
import type { JobStore } from "../store.js";
import { CorePool, threadEnvironment } from "./cores.js";
import { downloadPrefix, uploadFile, uploadFolder } from "./s3files.js";

export type JobKind = "processing" | "training";

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

/** SageMaker job and stage names never hold these, but requests come from outside. */
const SAFE_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const PROGRESS = /progress:\s*([0-9]+(?:\.[0-9]+)?)%\s*(.*)$/;
/** What users see of a failure file (images/README.md). */
const REASON_LIMIT = 1024;

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface RunningProcess {
  readonly child: ChildProcess;
  readonly jobName: string;
  readonly docker: boolean;
}

interface RunOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly lastLines: string[];
  readonly clientError?: string;
}

type Metric = { Name: string; Regex: string };

export class SageMakerEmulator extends EventEmitter<EmulatorEvents> {
  private readonly running = new Map<string, RunningProcess>();
  private readonly releases = new EventEmitter();
  private readonly checkedRequirements = new Map<string, string | undefined>();
  // tag -> its build, shared by jobs that start while it runs; a failed build is forgotten (retried)
  private readonly images = new Map<string, Promise<string>>();
  private closed = false;
  /** Jobs a stop request ended: they finish `Stopped`, not `Failed`. */
  private readonly stopped = new Set<string>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly cores: CorePool | undefined;

  constructor(readonly options: SageMakerEmulatorOptions) {
    super();
    this.cores = options.cores === "unshared" ? undefined : new CorePool(options.cores);
    this.releases.setMaxListeners(0);
    if (options.docker) assertDocker();
  }

  /** Runs one `createProcessingJob.sync` task: resolves with the Describe answer or throws. */
  processingJob(request: CreateProcessingJobRequest): Promise<Record<string, unknown>> {
    return this.track(this.runProcessingJob(request));
  }

  /** Runs one `createTrainingJob.sync` task. */
  trainingJob(request: CreateTrainingJobRequest): Promise<Record<string, unknown>> {
    return this.track(this.runTrainingJob(request));
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    void promise.then(() => this.inflight.delete(promise), () => this.inflight.delete(promise));
    return promise;
  }

  private async runProcessingJob(request: CreateProcessingJobRequest): Promise<Record<string, unknown>> {
    try {
      assertValidProcessingRequest(request);
    } catch (error) {
      throw asSageMakerError(error);
    }
    const name = request.ProcessingJobName!;
    const stage = this.stageFor(request.AppSpecification!.ImageUri!);
    const cluster = request.ProcessingResources!.ClusterConfig!;
    await this.acquire(name, "processing", stage, request.Tags, cluster.InstanceType!, cluster.InstanceCount!);
    const created = new Date();
    const root = this.prepareJobFolder(name);
    const optMl = join(root, "opt", "ml");
    const describe = (status: string, extra: Record<string, unknown> = {}) => ({
      ProcessingJobName: name,
      ProcessingJobArn: arn("processing-job", name),
      ProcessingJobStatus: status,
      ProcessingInputs: request.ProcessingInputs ?? [],
      ProcessingOutputConfig: request.ProcessingOutputConfig ?? { Outputs: [] },
      ProcessingResources: request.ProcessingResources,
      StoppingCondition: request.StoppingCondition,
      AppSpecification: request.AppSpecification,
      Environment: request.Environment ?? {},
      RoleArn: request.RoleArn,
      Tags: request.Tags ?? [],
      CreationTime: created.getTime(),
      ProcessingStartTime: created.getTime(),
      ...extra,
    });
    let outcome: RunOutcome;
    try {
      for (const input of request.ProcessingInputs ?? []) {
        const s3 = input.S3Input!;
        const dest = reroot(optMl, s3.LocalPath!, "/opt/ml/");
        if (downloadPrefix(this.options.data, s3.S3Uri!, dest) === 0) {
          throw new ClientError(`No S3 objects found under S3 URL "${s3.S3Uri}" given in input data source ${input.InputName}.`);
        }
      }
      for (const output of request.ProcessingOutputConfig?.Outputs ?? []) mkdirSync(reroot(optMl, output.S3Output!.LocalPath!, "/opt/ml/"), { recursive: true });
      mkdirSync(join(optMl, "output"), { recursive: true });
      mkdirSync(join(optMl, "config"), { recursive: true });
      writeFileSync(join(optMl, "config", "processingjobconfig.json"), JSON.stringify(request, null, 2));
      writeFileSync(join(optMl, "config", "resourceconfig.json"), JSON.stringify({ current_host: "algo-1", hosts: ["algo-1"] }));
      const spec = request.AppSpecification!;
      const args = [...(spec.ContainerEntrypoint?.slice(1) ?? []), ...(spec.ContainerArguments ?? [])];
      outcome = await this.run(name, "processing", stage, optMl, args, request.Environment ?? {}, request.StoppingCondition?.MaxRuntimeInSeconds, []);
    } catch (error) {
      outcome = clientFailure(error);
    }
    const message = readReason(join(optMl, "output", "message"));
    if (outcome.ok) {
      try {
        for (const output of request.ProcessingOutputConfig?.Outputs ?? []) {
          uploadFolder(this.options.data, reroot(optMl, output.S3Output!.LocalPath!, "/opt/ml/"), output.S3Output!.S3Uri!);
        }
      } catch (error) {
        outcome = clientFailure(error);
      }
    }
    const ended = new Date();
    const times = { ProcessingEndTime: ended.getTime(), LastModifiedTime: ended.getTime() };
    if (outcome.ok) {
      const result = describe("Completed", { ...times, ...(message ? { ExitMessage: message } : {}) });
      this.finish(name, "processing", stage, "Completed", result);
      return result;
    }
    const reason = this.failureReason(name, stage, outcome, optMl, request.StoppingCondition?.MaxRuntimeInSeconds);
    const endStatus = this.stopped.delete(name) ? "Stopped" : "Failed";
    const result = describe(endStatus, { ...times, FailureReason: reason, ...(message ? { ExitMessage: message } : {}) });
    this.finish(name, "processing", stage, endStatus, result, reason);
    throw new NamedError("States.TaskFailed", JSON.stringify(result));
  }

  private async runTrainingJob(request: CreateTrainingJobRequest): Promise<Record<string, unknown>> {
    try {
      assertValidTrainingRequest(request);
    } catch (error) {
      throw asSageMakerError(error);
    }
    const name = request.TrainingJobName!;
    const imageUri = request.AlgorithmSpecification?.TrainingImage;
    if (!imageUri) throw new NamedError("SageMaker.ValidationException", "the local runtime runs TrainingImage only (no AlgorithmName)");
    const stage = this.stageFor(imageUri);
    const resources = request.ResourceConfig!;
    await this.acquire(name, "training", stage, request.Tags, resources.InstanceType!, resources.InstanceCount!);
    const created = new Date();
    const root = this.prepareJobFolder(name);
    const optMl = join(root, "opt", "ml");
    const modelUri = `${request.OutputDataConfig!.S3OutputPath!.replace(/\/+$/, "")}/${name}/output/model.tar.gz`;
    const metrics = new Map<string, number>();
    let outcome: RunOutcome;
    try {
      for (const channel of request.InputDataConfig ?? []) {
        const uri = channel.DataSource!.S3DataSource!.S3Uri!;
        if (downloadPrefix(this.options.data, uri, join(optMl, "input", "data", channel.ChannelName!)) === 0) {
          throw new ClientError(`No S3 objects found under S3 URL "${uri}" given in input data source ${channel.ChannelName}.`);
        }
      }
      const config = join(optMl, "input", "config");
      mkdirSync(config, { recursive: true });
      // SageMaker hands every hyperparameter over as a string.
      const hyperparameters = Object.fromEntries(Object.entries(request.HyperParameters ?? {}).map(([k, v]) => [k, String(v)]));
      writeFileSync(join(config, "hyperparameters.json"), JSON.stringify(hyperparameters, null, 2));
      writeFileSync(
        join(config, "inputdataconfig.json"),
        JSON.stringify(Object.fromEntries((request.InputDataConfig ?? []).map((c) => [c.ChannelName, { TrainingInputMode: c.InputMode ?? "File", S3DistributionType: "FullyReplicated", RecordWrapperType: "None" }])), null, 2),
      );
      writeFileSync(join(config, "resourceconfig.json"), JSON.stringify({ current_host: "algo-1", hosts: ["algo-1"], network_interface_name: "lo" }));
      mkdirSync(join(optMl, "model"), { recursive: true });
      mkdirSync(join(optMl, "output"), { recursive: true });
      const checkpoints = request.CheckpointConfig;
      const checkpointDir = join(optMl, "checkpoints");
      mkdirSync(checkpointDir, { recursive: true });
      if (checkpoints?.S3Uri) downloadPrefix(this.options.data, checkpoints.S3Uri.endsWith("/") ? checkpoints.S3Uri : `${checkpoints.S3Uri}/`, checkpointDir);
      const metricDefinitions = (request.AlgorithmSpecification?.MetricDefinitions ?? []) as Metric[];
      outcome = await this.run(name, "training", stage, optMl, ["train"], {
        ...(request.Environment ?? {}),
        TRAINING_JOB_NAME: name,
        TRAINING_JOB_ARN: arn("training-job", name),
      }, request.StoppingCondition?.MaxRuntimeInSeconds, metricDefinitions, metrics);
      if (checkpoints?.S3Uri) uploadFolder(this.options.data, checkpointDir, checkpoints.S3Uri);
      if (outcome.ok) {
        const packed = join(root, "model.tar.gz");
        const entries = readdirSync(join(optMl, "model"));
        await tar.create({ gzip: true, file: packed, cwd: join(optMl, "model"), portable: true }, entries.length > 0 ? entries : []);
        uploadFile(this.options.data, packed, modelUri);
      }
    } catch (error) {
      outcome = clientFailure(error);
    }
    const ended = new Date();
    const seconds = Math.max(1, Math.round((ended.getTime() - created.getTime()) / 1000));
    const base = {
      TrainingJobName: name,
      TrainingJobArn: arn("training-job", name),
      HyperParameters: request.HyperParameters ?? {},
      AlgorithmSpecification: request.AlgorithmSpecification,
      RoleArn: request.RoleArn,
      InputDataConfig: request.InputDataConfig ?? [],
      OutputDataConfig: request.OutputDataConfig,
      ResourceConfig: request.ResourceConfig,
      StoppingCondition: request.StoppingCondition,
      EnableManagedSpotTraining: request.EnableManagedSpotTraining ?? false,
      ...(request.CheckpointConfig ? { CheckpointConfig: request.CheckpointConfig } : {}),
      Environment: request.Environment ?? {},
      CreationTime: created.getTime(),
      TrainingStartTime: created.getTime(),
      TrainingEndTime: ended.getTime(),
      LastModifiedTime: ended.getTime(),
      TrainingTimeInSeconds: seconds,
      BillableTimeInSeconds: seconds,
      FinalMetricDataList: [...metrics].map(([MetricName, Value]) => ({ MetricName, Value, Timestamp: ended.getTime() })),
    };
    if (outcome.ok) {
      const result = { ...base, TrainingJobStatus: "Completed", SecondaryStatus: "Completed", ModelArtifacts: { S3ModelArtifacts: modelUri } };
      this.finish(name, "training", stage, "Completed", result);
      return result;
    }
    const reason = this.failureReason(name, stage, outcome, optMl, request.StoppingCondition?.MaxRuntimeInSeconds);
    const endStatus = this.stopped.delete(name) ? "Stopped" : "Failed";
    const result = {
      ...base,
      TrainingJobStatus: endStatus,
      SecondaryStatus: outcome.timedOut ? "MaxRuntimeExceeded" : "Failed",
      FailureReason: reason,
      ModelArtifacts: { S3ModelArtifacts: modelUri },
    };
    this.finish(name, "training", stage, endStatus, result, reason);
    throw new NamedError("States.TaskFailed", JSON.stringify(result));
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
      this.kill(p, "SIGTERM");
      setTimeout(() => this.kill(p, "SIGKILL"), this.options.stopGraceMs ?? 10_000).unref();
    });
    return true;
  }

  /** Stops every job this emulator runs (SIGTERM to its process group). */
  async close(): Promise<void> {
    this.closed = true;
    const waits = [...this.running.values()].map(
      (p) => new Promise<void>((done) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return done();
        p.child.once("close", () => done());
        this.kill(p, "SIGTERM");
        setTimeout(() => { this.kill(p, "SIGKILL"); done(); }, 2000).unref();
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

  // ---------------------------------------------------------------------------------------

  private stageFor(imageUri: string): Stage {
    const entry = Object.entries(this.options.images).find(([, uri]) => uri === imageUri);
    const stage = entry && this.options.pipeline.stages.find((s) => s.name === entry[0]);
    if (!stage) {
      throw new NamedError("SageMaker.ValidationException", `image ${imageUri} is not the image of any stage of pipeline ${this.options.pipeline.name}`);
    }
    return stage;
  }

  /** Creates the job record within quota, holding up to quotaHoldMs for a free instance. */
  private async acquire(name: string, kind: JobKind, stage: Stage, tags: { Key?: string; Value?: string }[] | undefined, type: string, count: number): Promise<void> {
    if (this.closed) throw new NamedError("SageMaker.ServiceUnavailable", "the local runtime is shutting down");
    const execution = tags?.find((t) => t.Key === "spaceport:job")?.Value ?? "";
    const quota = quotaFor({ quotas: this.options.quotas as Quota[] }, type as InstanceType, kind) ?? 0;
    const deadline = Date.now() + (this.options.quotaHoldMs ?? 120_000);
    let announced = false;
    for (;;) {
      const result = this.options.store.createSageMakerJob(
        { name, kind, stage: stage.name, execution, instanceType: type, instanceCount: count, created: new Date(), owner: this.options.owner },
        quota,
      );
      if (result.created) break;
      if (result.reason === "exists") {
        throw new NamedError("SageMaker.ResourceInUse", `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn(kind === "processing" ? "processing-job" : "training-job", name)})`);
      }
      const wait = deadline - Date.now();
      if (!announced) {
        announced = true;
        this.emit("waiting", { stage: stage.name, jobName: name, execution, instanceType: type, inUse: result.inUse, quota });
      }
      if (wait <= 0 || this.closed) {
        throw new NamedError(
          "SageMaker.ResourceLimitExceededException",
          `The account-level service limit '${type} for ${kind} job usage' is ${quota} Instances, with current utilization of ${result.inUse} Instances and a request delta of ${count} Instances. Please use AWS Service Quotas to request an increase for this quota.`,
        );
      }
      // Woken by a local release, or polled for releases by other processes on this data dir.
      await new Promise<void>((done) => {
        const finish = () => {
          clearTimeout(timer);
          this.releases.off("release", finish);
          done();
        };
        const timer = setTimeout(finish, Math.min(wait, 500));
        this.releases.once("release", finish);
      });
    }
    this.emit("job", { stage: stage.name, jobName: name, kind, execution, status: "InProgress" });
  }

  private finish(name: string, kind: JobKind, stage: Stage, status: "Completed" | "Failed" | "Stopped", describe: Record<string, unknown>, reason?: string): void {
    const row = this.options.store.getSageMakerJob(name);
    this.options.store.finishSageMakerJob(name, status, new Date(), describe);
    this.releases.emit("release");
    this.emit("job", { stage: stage.name, jobName: name, kind, execution: row?.execution ?? "", status, ...(reason ? { failureReason: reason } : {}) });
  }

  private prepareJobFolder(name: string): string {
    if (!SAFE_NAME.test(name)) throw new NamedError("SageMaker.ValidationException", `invalid job name ${name}`);
    const root = this.options.data.jobDir(name);
    // Names are unique forever (the store says so): a folder left here is from a lost store.
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, "opt", "ml"), { recursive: true });
    return root;
  }

  private log(stage: string, jobName: string, stream: LogLine["stream"], line: string, file: NodeJS.WritableStream): void {
    file.write(`${stream === "stderr" ? "! " : ""}${line}\n`);
    this.emit("log", { stage, jobName, stream, line });
  }

  /** Runs the stage process on the cores granted to it (at most its instance type's vCPUs). */
  private async run(...args: Parameters<SageMakerEmulator["launch"]>): Promise<RunOutcome> {
    const [name, kind, stage, optMl, commandArgs, environment, maxRuntimeSeconds, metricDefinitions, metrics] = args;
    if (!this.cores) return this.launch(...args);
    const instanceType = this.options.store.getSageMakerJob(name)?.instanceType;
    const vcpus = instanceType && isInstanceType(instanceType) ? INSTANCE_TYPES[instanceType].vcpu : this.cores.total;
    if (this.cores.inUse >= this.cores.total || this.cores.waiting > 0) {
      const logFile = createWriteStream(join(dirname(optMl), "..", "log.txt"), { flags: "a" });
      this.log(stage.name, name, "runtime", `waiting for a free CPU core (${this.cores.inUse} of ${this.cores.total} in use by other stages)`, logFile);
      logFile.end();
    }
    const grant = await this.cores.acquire(Math.min(vcpus, this.cores.total));
    try {
      if (this.closed) return clientFailure(new NamedError("SageMaker.ServiceUnavailable", "the local runtime is shutting down"));
      // The request's own variables win: a stage may pin its threads itself.
      const env = { ...threadEnvironment(grant.cores), ...environment };
      return await this.launch(name, kind, stage, optMl, commandArgs, env, maxRuntimeSeconds, metricDefinitions, metrics);
    } finally {
      grant.release();
    }
  }

  private async launch(
    name: string,
    kind: JobKind,
    stage: Stage,
    optMl: string,
    args: string[],
    environment: Record<string, string>,
    maxRuntimeSeconds: number | undefined,
    metricDefinitions: Metric[],
    metrics?: Map<string, number>,
  ): Promise<RunOutcome> {
    const logFile = createWriteStream(join(dirname(optMl), "..", "log.txt"), { flags: "a" });
    const env: Record<string, string> = { SPACEPORT_SAGEMAKER_JOB: name, SPACEPORT_STAGE: stage.name, ...environment };
    let command: string;
    let commandArgs: string[];
    const docker = this.options.docker === true;
    if (docker) {
      let tag: string;
      try {
        tag = await this.ensureImage(stage, (line) => this.log(stage.name, name, "runtime", line, logFile));
      } catch (error) {
        logFile.end();
        return clientFailure(error);
      }
      // Like SageMaker: the instance's GPUs go to the container (where this machine has NVIDIA's runtime).
      const instanceType = this.options.store.getSageMakerJob(name)?.instanceType;
      const gpus = instanceType && isInstanceType(instanceType) && INSTANCE_TYPES[instanceType].gpus > 0 && hasNvidia() ? ["--gpus", "all"] : [];
      command = "docker";
      commandArgs = ["run", "--rm", "--name", name, ...gpus, "-v", `${optMl}:/opt/ml`, ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), tag, ...args];
    } else {
      const program = resolve(this.options.repoRoot, stage.image.entrypoint);
      if (!existsSync(program)) {
        logFile.end();
        return { ok: false, exitCode: null, timedOut: false, lastLines: [], clientError: `the entry program of stage ${stage.name} does not exist: ${program} (image.entrypoint "${stage.image.entrypoint}")` };
      }
      const missing = this.missingRequirements(stage);
      if (missing) {
        logFile.end();
        return { ok: false, exitCode: null, timedOut: false, lastLines: [], clientError: missing };
      }
      [command, commandArgs] = launcher(program, args);
    }
    this.log(stage.name, name, "runtime", `${kind} job ${name}: ${docker ? "docker" : "native"} run of ${stage.name} (${[command, ...commandArgs].join(" ")})`, logFile);

    const child = spawn(command, commandArgs, {
      cwd: dirname(dirname(optMl)),
      env: { ...process.env, PYTHONUNBUFFERED: "1", ...env, ...(docker ? {} : { SPACEPORT_OPT_ML: optMl }) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: !docker,
    });
    const running: RunningProcess = { child, jobName: name, docker };
    this.running.set(name, running);
    if (child.pid !== undefined) this.options.store.setSageMakerJobPid(name, child.pid);

    const lastLines: string[] = [];
    const onLine = (stream: "stdout" | "stderr") => (line: string) => {
      this.log(stage.name, name, stream, line, logFile);
      lastLines.push(line);
      if (lastLines.length > 5) lastLines.shift();
      const progress = PROGRESS.exec(line);
      if (progress) {
        const percent = Math.min(100, Math.max(0, Number(progress[1])));
        const what = progress[2]!.trim();
        this.options.store.setProgress(name, kind, percent, what, new Date());
        this.emit("progress", { stage: stage.name, jobName: name, kind, percent, what });
      }
      for (const metric of metricDefinitions) {
        const match = new RegExp(metric.Regex).exec(line);
        if (match?.[1] !== undefined && Number.isFinite(Number(match[1]))) metrics?.set(metric.Name, Number(match[1]));
      }
    };
    const closed = Promise.all([
      new Promise<void>((done) => createInterface({ input: child.stdout! }).on("line", onLine("stdout")).on("close", done)),
      new Promise<void>((done) => createInterface({ input: child.stderr! }).on("line", onLine("stderr")).on("close", done)),
    ]);

    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    if (maxRuntimeSeconds !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          this.log(stage.name, name, "runtime", `MaxRuntimeInSeconds (${maxRuntimeSeconds} s) reached: stopping the job`, logFile);
          this.kill(running, "SIGTERM");
          timers.push(setTimeout(() => this.kill(running, "SIGKILL"), this.options.stopGraceMs ?? 10_000));
        }, maxRuntimeSeconds * 1000),
      );
    }
    const exit = await new Promise<{ code: number | null; error?: Error }>((done) => {
      child.once("error", (error) => done({ code: null, error }));
      child.once("exit", (code) => done({ code }));
    });
    timers.forEach(clearTimeout);
    await closed;
    this.running.delete(name);
    this.log(stage.name, name, "runtime", exit.error ? `could not start: ${exit.error.message}` : `exited with code ${exit.code}`, logFile);
    await new Promise((done) => logFile.end(done));
    if (exit.error) {
      return { ok: false, exitCode: null, timedOut, lastLines, clientError: `could not start the entry program of stage ${stage.name}: ${exit.error.message}` };
    }
    return { ok: exit.code === 0 && !timedOut, exitCode: exit.code, timedOut, lastLines };
  }

  private kill(p: RunningProcess, signal: NodeJS.Signals): void {
    if (p.docker) {
      spawnSync("docker", [signal === "SIGKILL" ? "kill" : "stop", p.jobName], { stdio: "ignore", env: process.env });
      return;
    }
    if (p.child.pid === undefined) return;
    try {
      process.kill(-p.child.pid, signal);
    } catch {
      p.child.kill(signal);
    }
  }

  private failureReason(name: string, stage: Stage, outcome: RunOutcome, optMl: string, maxRuntime: number | undefined): string {
    if (this.closed) return `the local runtime was stopped while stage ${stage.name} was running`;
    if (this.stopped.has(name)) return `stage ${stage.name} was stopped on request`;
    if (outcome.timedOut) {
      return truncate(`stage ${stage.name} ran longer than its time limit of ${maxRuntime} s (MaxRuntimeInSeconds) and was stopped`);
    }
    if (outcome.clientError) return truncate(`ClientError: ${outcome.clientError}`);
    const written = readReason(join(optMl, "output", "failure")) ?? readReason(join(optMl, "output", "message"));
    if (written) return truncate(`AlgorithmError: ${written}`);
    const hint = missingDependencyHint(outcome.lastLines);
    const last = outcome.lastLines.at(-1);
    return truncate(
      `AlgorithmError: stage ${stage.name} exited with code ${outcome.exitCode} without writing a reason to /opt/ml/output/failure` +
        (hint ? `; ${hint}` : last ? `; its last output: ${last}` : ""),
    );
  }

  /** Python requirements of a stage's image folder that are not installed: a reason, or undefined. */
  private missingRequirements(stage: Stage): string | undefined {
    const file = join(this.options.repoRoot, stage.image.directory, "requirements.txt");
    if (!existsSync(file)) return undefined;
    if (this.checkedRequirements.has(file)) return this.checkedRequirements.get(file);
    const python = this.options.python ?? process.env["SPACEPORT_PYTHON"] ?? "python3";
    const script = [
      "import sys, re, importlib.metadata as m",
      "missing = []",
      "for raw in open(sys.argv[1]):",
      "    line = raw.split('#')[0].strip()",
      "    if not line or line.startswith('-'): continue",
      "    name = re.split(r'[\\[<>=!~; ]', line, 1)[0]",
      "    try: m.version(name)",
      "    except m.PackageNotFoundError: missing.append(line)",
      "print('\\n'.join(missing))",
    ].join("\n");
    const result = spawnSync(python, ["-c", script, file], { encoding: "utf8" });
    let reason: string | undefined;
    if (result.error || result.status !== 0) {
      reason = `stage ${stage.name} needs Python (${python}), which could not run: ${result.error?.message ?? result.stderr.trim()}. Install the stage's dependencies with: source scripts/env.sh && ensure_python`;
    } else {
      const missing = result.stdout.split("\n").filter(Boolean);
      if (missing.length > 0) {
        reason = `stage ${stage.name} cannot run natively: missing Python packages ${missing.join(", ")} (from ${stage.image.directory}/requirements.txt). Install them with: source scripts/env.sh && ensure_python (or ${python} -m pip install -r ${stage.image.directory}/requirements.txt), or run with --docker`;
      }
    }
    this.checkedRequirements.set(file, reason);
    return reason;
  }

  /** Builds the stage's image once per runtime (asynchronously: the runtime keeps serving meanwhile). */
  private ensureImage(stage: Stage, log: (line: string) => void): Promise<string> {
    const tag = `spaceport-local/${stage.name}:latest`;
    let build = this.images.get(tag);
    if (!build) {
      build = this.buildImage(stage, tag, log);
      this.images.set(tag, build);
      build.catch(() => this.images.delete(tag));
    }
    return build;
  }

  private async buildImage(stage: Stage, tag: string, log: (line: string) => void): Promise<string> {
    log(`building ${tag} from ${stage.image.dockerfile} (context ${stage.image.context})`);
    const build = spawn("docker", ["build", "--platform", stage.image.platform, "-f", stage.image.dockerfile, "-t", tag, stage.image.context], {
      cwd: this.options.repoRoot,
      env: process.env, // the current environment (PATH included), not the one the process started with
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const keep = (line: string) => {
      log(line);
      tail.push(line);
      if (tail.length > 3) tail.shift();
    };
    createInterface({ input: build.stdout! }).on("line", keep);
    createInterface({ input: build.stderr! }).on("line", keep);
    const code = await new Promise<number | null>((done) => {
      build.once("error", (error) => { keep(error.message); done(null); });
      build.once("close", (c) => done(c));
    });
    if (code !== 0) throw new ClientError(`docker build of ${stage.image.dockerfile} failed: ${tail.join(" ")}`);
    return tag;
  }
}

function hasNvidia(): boolean {
  return spawnSync("nvidia-smi", ["-L"], { stdio: "ignore", env: process.env }).status === 0;
}

class ClientError extends Error {}

function clientFailure(error: unknown): RunOutcome {
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, exitCode: null, timedOut: false, lastLines: [], clientError: message };
}

function asSageMakerError(error: unknown): Error {
  if (error instanceof SageMakerValidationError) return new NamedError("SageMaker.ValidationException", error.message);
  return error as Error;
}

const arn = (type: string, name: string) => `arn:aws:sagemaker:local:000000000000:${type}/${name.toLowerCase()}`;

/** `/opt/ml/processing/input/photos` → `<optMl>/processing/input/photos` (never outside it). */
export function reroot(optMl: string, containerPath: string, prefix: string): string {
  if (!containerPath.startsWith(prefix)) throw new ClientError(`LocalPath ${containerPath} must be under ${prefix}`);
  const path = resolve(optMl, containerPath.slice(prefix.length));
  if (path !== optMl && !path.startsWith(optMl + "/")) throw new ClientError(`LocalPath ${containerPath} leaves /opt/ml`);
  return path;
}

function readReason(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return undefined;
    const text = readFileSync(path, "utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

function truncate(text: string): string {
  return text.length <= REASON_LIMIT ? text : `${text.slice(0, REASON_LIMIT - 1)}…`;
}

/** How to start an entry program: directly when executable, else through its interpreter. */
function launcher(program: string, args: string[]): [string, string[]] {
  const ext = extname(program);
  if (ext === ".sh") return ["bash", [program, ...args]];
  if (ext === ".js" || ext === ".mjs") return [process.execPath, [program, ...args]];
  if (ext === ".ts") return [process.execPath, ["--import", "tsx", program, ...args]];
  if (ext === ".py") return [process.env["SPACEPORT_PYTHON"] ?? "python3", [program, ...args]];
  try {
    accessSync(program, constants.X_OK);
  } catch {
    throw new ClientError(`entry program ${program} is not executable (chmod +x it, or give it a .sh/.js/.ts/.py name)`);
  }
  return [program, args];
}

/** Turns the usual "not installed" messages of a log into a reason with the install command. */
export function missingDependencyHint(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const python = /ModuleNotFoundError: No module named '([^']+)'/.exec(line);
    if (python) return `the Python module "${python[1]}" is not installed; install the stage's dependencies with: source scripts/env.sh && ensure_python`;
    const node = /Cannot find (?:module|package) '([^']+)'/.exec(line);
    if (node) return `the Node package "${node[1]}" is not installed; install it with: source scripts/env.sh && ensure_node_modules`;
    const command = /(?:^|: )([\w.+-]+): (?:command )?not found/.exec(line);
    if (command) return `the program "${command[1]}" is not installed (see the stage's images/<stage>/install.sh)`;
  }
  return undefined;
}

function assertDocker(): void {
  const result = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", env: process.env });
  if (result.error || result.status !== 0) {
    throw new Error(
      `--docker needs a running Docker engine, and \`docker version\` failed: ${(result.error?.message ?? result.stderr).trim()}. Install Docker (https://docs.docker.com/engine/install/) or run without --docker to use the stages' native entry programs.`,
    );
  }
}
