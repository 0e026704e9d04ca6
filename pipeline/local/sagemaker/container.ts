/**
 * The SageMaker container contract on this machine: each job gets `<data>/sagemaker/<job>/opt/ml`
 * laid out as SageMaker lays out `/opt/ml` (inputs and channels downloaded from the local
 * buckets, the config files, the output folders), and its outputs go back to the buckets after.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import * as tar from "tar";
import { SAGEMAKER_JOB_NAME } from "../../layout.js";
import { CHECKPOINTS_PATH, OPT_ML } from "../../stage-contract.js";
import type { DataDir } from "../data.js";
import { ClientError, NamedError } from "./job-spec.js";
import { CheckpointSync } from "./checkpoint-sync.js";
import { downloadPrefix, uploadFile, uploadFolder } from "./s3files.js";

export interface JobFolder {
  /** `<data>/sagemaker/<job>`: the log and the packed model sit here. */
  readonly root: string;
  /** `<root>/opt/ml`: what the container sees as /opt/ml. */
  readonly optMl: string;
}

/** A fresh folder for a job: names are unique forever (the store says so), so one left here is from a lost store. */
export function prepareJobFolder(data: DataDir, name: string): JobFolder {
  if (!SAGEMAKER_JOB_NAME.test(name)) throw new NamedError("SageMaker.ValidationException", `invalid job name ${name}`);
  const root = data.jobDir(name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "opt", "ml"), { recursive: true });
  return { root, optMl: join(root, "opt", "ml") };
}

/** `/opt/ml/processing/input/photos` → `<optMl>/processing/input/photos` (never outside it). */
export function reroot(optMl: string, containerPath: string, prefix = `${OPT_ML}/`): string {
  if (!containerPath.startsWith(prefix)) throw new ClientError(`LocalPath ${containerPath} must be under ${prefix}`);
  const path = resolve(optMl, containerPath.slice(prefix.length));
  if (path !== optMl && !path.startsWith(optMl + "/")) throw new ClientError(`LocalPath ${containerPath} leaves /opt/ml`);
  return path;
}

function download(data: DataDir, uri: string, dest: string, source: string | undefined): void {
  if (downloadPrefix(data, uri, dest) === 0) {
    throw new ClientError(`No S3 objects found under S3 URL "${uri}" given in input data source ${source}.`);
  }
}

const writeJson = (path: string, value: unknown, indent?: number): void => writeFileSync(path, JSON.stringify(value, null, indent));

/** Processing: inputs under their LocalPath, output folders, `config/processingjobconfig.json`. Answers the arguments. */
export function layOutProcessing(data: DataDir, optMl: string, request: CreateProcessingJobRequest): string[] {
  for (const input of request.ProcessingInputs ?? []) {
    const s3 = input.S3Input!;
    download(data, s3.S3Uri!, reroot(optMl, s3.LocalPath!), input.InputName);
  }
  for (const output of request.ProcessingOutputConfig?.Outputs ?? []) mkdirSync(reroot(optMl, output.S3Output!.LocalPath!), { recursive: true });
  mkdirSync(join(optMl, "output"), { recursive: true });
  mkdirSync(join(optMl, "config"), { recursive: true });
  writeJson(join(optMl, "config", "processingjobconfig.json"), request, 2);
  writeJson(join(optMl, "config", "resourceconfig.json"), { current_host: "algo-1", hosts: ["algo-1"] });
  const spec = request.AppSpecification!;
  return [...(spec.ContainerEntrypoint?.slice(1) ?? []), ...(spec.ContainerArguments ?? [])];
}

/** Processing outputs to their S3Uri (EndOfJob upload). */
export function collectProcessing(data: DataDir, optMl: string, request: CreateProcessingJobRequest): void {
  for (const output of request.ProcessingOutputConfig?.Outputs ?? []) {
    uploadFolder(data, reroot(optMl, output.S3Output!.LocalPath!), output.S3Output!.S3Uri!);
  }
}

/** Training: channels under `input/data/<channel>`, `input/config/*.json`, model, output and checkpoint folders. */
export function layOutTraining(data: DataDir, optMl: string, request: CreateTrainingJobRequest): void {
  for (const channel of request.InputDataConfig ?? []) {
    download(data, channel.DataSource!.S3DataSource!.S3Uri!, join(optMl, "input", "data", channel.ChannelName!), channel.ChannelName);
  }
  const config = join(optMl, "input", "config");
  mkdirSync(config, { recursive: true });
  // SageMaker hands every hyperparameter over as a string.
  writeJson(join(config, "hyperparameters.json"), Object.fromEntries(Object.entries(request.HyperParameters ?? {}).map(([k, v]) => [k, String(v)])), 2);
  const channels = (request.InputDataConfig ?? []).map((c) => [c.ChannelName, { TrainingInputMode: c.InputMode ?? "File", S3DistributionType: "FullyReplicated", RecordWrapperType: "None" }]);
  writeJson(join(config, "inputdataconfig.json"), Object.fromEntries(channels), 2);
  const resources = { current_host: "algo-1", current_instance_type: request.ResourceConfig?.InstanceType, hosts: ["algo-1"], network_interface_name: "lo" };
  writeJson(join(config, "resourceconfig.json"), resources);
  mkdirSync(join(optMl, "model"), { recursive: true });
  mkdirSync(join(optMl, "output"), { recursive: true });
  const checkpoints = reroot(optMl, CHECKPOINTS_PATH);
  mkdirSync(checkpoints, { recursive: true });
  const uri = request.CheckpointConfig?.S3Uri;
  if (uri) downloadPrefix(data, uri.endsWith("/") ? uri : `${uri}/`, checkpoints);
}

/** Where SageMaker puts a training job's packed model. */
export const modelArtifactsUri = (request: CreateTrainingJobRequest): string =>
  `${request.OutputDataConfig!.S3OutputPath!.replace(/\/+$/, "")}/${request.TrainingJobName!}/output/model.tar.gz`;

/** The copy of the checkpoint folder to S3 while a training job runs (none without CheckpointConfig). */
export function startCheckpointSync(data: DataDir, folder: JobFolder, request: CreateTrainingJobRequest): CheckpointSync | undefined {
  const uri = request.CheckpointConfig?.S3Uri;
  return uri ? new CheckpointSync(data, reroot(folder.optMl, CHECKPOINTS_PATH), uri).start() : undefined;
}

/**
 * The model goes to S3 only on success. Checkpoints need nothing here: the job's running sync
 * (startCheckpointSync) copies what is left when it is stopped, whatever the outcome.
 */
export async function collectTraining(data: DataDir, folder: JobFolder, request: CreateTrainingJobRequest, ok: boolean): Promise<void> {
  if (!ok) return;
  const packed = join(folder.root, "model.tar.gz");
  const model = join(folder.optMl, "model");
  const entries = readdirSync(model);
  await tar.create({ gzip: true, file: packed, cwd: model, portable: true }, entries.length > 0 ? entries : []);
  uploadFile(data, packed, modelArtifactsUri(request));
}
