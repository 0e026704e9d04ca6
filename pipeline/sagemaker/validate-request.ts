/**
 * What SageMaker itself refuses, checked at run time: the compiler runs this on every
 * request it generates, and the local SageMaker emulator on every request it receives.
 * Written from the CreateProcessingJob / CreateTrainingJob API references. The seed's
 * production bug (a processing input without S3InputMode) is exactly what this catches.
 */
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import { INSTANCE_TYPES, MAX_RUNTIME_SECONDS, VOLUME_SIZE_GB, supportsJobKind, type InstanceType } from "../instances.js";
import { SAGEMAKER_JOB_NAME } from "../layout.js";

export class SageMakerValidationError extends Error {
  /** Same error name as the real API, so callers can treat both alike. */
  override readonly name = "ValidationException";
  constructor(readonly problems: readonly string[]) {
    super(`${problems.length} validation error${problems.length === 1 ? "" : "s"} detected: ${problems.join("; ")}`);
  }
}

type Problems = string[];

function required(problems: Problems, path: string, value: unknown): boolean {
  if (value === undefined || value === null || value === "") {
    problems.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
    return false;
  }
  return true;
}

function oneOf(problems: Problems, path: string, value: unknown, allowed: readonly string[]): void {
  if (required(problems, path, value) && !allowed.includes(String(value))) {
    problems.push(`Value '${String(value)}' at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(", ")}]`);
  }
}

/** Strings that are still compile-time references (⟦$.path⟧) are checked for shape only. */
const isReference = (value: string) => value.includes("⟦");

function s3Uri(problems: Problems, path: string, value: unknown): void {
  if (!required(problems, path, value)) return;
  const text = String(value);
  if (!isReference(text) && !/^(https|s3):\/\/([^/]+)\/?(.*)$/.test(text)) {
    problems.push(`Value '${text}' at '${path}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(https|s3)://([^/]+)/?(.*)$`);
  }
}

function jobName(problems: Problems, path: string, value: unknown): void {
  if (!required(problems, path, value)) return;
  const text = String(value);
  if (isReference(text)) return;
  if (!SAGEMAKER_JOB_NAME.test(text)) {
    problems.push(`Value '${text}' at '${path}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`);
  }
}

function instance(problems: Problems, path: string, type: unknown, count: unknown, volume: unknown, kind: "processing" | "training"): void {
  if (required(problems, `${path}.InstanceType`, type)) {
    const t = String(type);
    if (!Object.hasOwn(INSTANCE_TYPES, t) || !supportsJobKind(t as InstanceType, kind)) {
      problems.push(`Value '${t}' at '${path}.InstanceType' failed to satisfy constraint: not a known ${kind} instance type`);
    }
  }
  if (required(problems, `${path}.InstanceCount`, count) && (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 100)) {
    problems.push(`Value '${String(count)}' at '${path}.InstanceCount' failed to satisfy constraint: Member must have value between 1 and 100`);
  }
  if (required(problems, `${path}.VolumeSizeInGB`, volume) && (!Number.isInteger(volume) || (volume as number) < VOLUME_SIZE_GB.min || (volume as number) > VOLUME_SIZE_GB.max)) {
    problems.push(`Value '${String(volume)}' at '${path}.VolumeSizeInGB' failed to satisfy constraint: Member must have value between ${VOLUME_SIZE_GB.min} and ${VOLUME_SIZE_GB.max}`);
  }
}

function maxRuntime(problems: Problems, path: string, value: unknown, kind: "processing" | "training"): void {
  if (!required(problems, path, value)) return;
  const limit = MAX_RUNTIME_SECONDS[kind];
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > limit) {
    problems.push(`Value '${String(value)}' at '${path}' failed to satisfy constraint: Member must have value between 1 and ${limit}`);
  }
}

export function processingRequestProblems(request: CreateProcessingJobRequest): string[] {
  const p: Problems = [];
  jobName(p, "processingJobName", request.ProcessingJobName);
  required(p, "roleArn", request.RoleArn);
  required(p, "appSpecification.imageUri", request.AppSpecification?.ImageUri);
  const cluster = request.ProcessingResources?.ClusterConfig;
  if (required(p, "processingResources.clusterConfig", cluster)) {
    instance(p, "processingResources.clusterConfig", cluster!.InstanceType, cluster!.InstanceCount, cluster!.VolumeSizeInGB, "processing");
  }
  if (request.StoppingCondition) maxRuntime(p, "stoppingCondition.maxRuntimeInSeconds", request.StoppingCondition.MaxRuntimeInSeconds, "processing");
  const inputNames = new Set<string>();
  (request.ProcessingInputs ?? []).forEach((input, i) => {
    const path = `processingInputs.${i + 1}.member`;
    if (required(p, `${path}.inputName`, input.InputName)) {
      if (inputNames.has(input.InputName!)) p.push(`Input names must be unique: '${input.InputName}' appears twice`);
      inputNames.add(input.InputName!);
    }
    const s3 = input.S3Input;
    if (!s3 && !input.DatasetDefinition) {
      p.push(`Input ${input.InputName} missing one or more required fields: S3Input or DatasetDefinition`);
      return;
    }
    if (s3) {
      s3Uri(p, `${path}.s3Input.s3Uri`, s3.S3Uri);
      if (!input.AppManaged) required(p, `${path}.s3Input.localPath`, s3.LocalPath);
      oneOf(p, `${path}.s3Input.s3DataType`, s3.S3DataType, ["ManifestFile", "S3Prefix"]);
      oneOf(p, `${path}.s3Input.s3InputMode`, s3.S3InputMode, ["Pipe", "File"]);
      if (s3.LocalPath && !isReference(s3.LocalPath) && !s3.LocalPath.startsWith("/opt/ml/processing/")) {
        p.push(`LocalPath '${s3.LocalPath}' at '${path}.s3Input.localPath' must be under /opt/ml/processing/`);
      }
    }
  });
  const outputs = request.ProcessingOutputConfig?.Outputs ?? [];
  outputs.forEach((output, i) => {
    const path = `processingOutputConfig.outputs.${i + 1}.member`;
    required(p, `${path}.outputName`, output.OutputName);
    if (required(p, `${path}.s3Output`, output.S3Output)) {
      s3Uri(p, `${path}.s3Output.s3Uri`, output.S3Output!.S3Uri);
      required(p, `${path}.s3Output.localPath`, output.S3Output!.LocalPath);
      oneOf(p, `${path}.s3Output.s3UploadMode`, output.S3Output!.S3UploadMode, ["Continuous", "EndOfJob"]);
    }
  });
  return p;
}

export function trainingRequestProblems(request: CreateTrainingJobRequest): string[] {
  const p: Problems = [];
  jobName(p, "trainingJobName", request.TrainingJobName);
  required(p, "roleArn", request.RoleArn);
  const algorithm = request.AlgorithmSpecification;
  if (required(p, "algorithmSpecification", algorithm)) {
    if (!algorithm!.TrainingImage && !algorithm!.AlgorithmName) {
      p.push("AlgorithmSpecification must have either TrainingImage or AlgorithmName");
    }
    oneOf(p, "algorithmSpecification.trainingInputMode", algorithm!.TrainingInputMode, ["Pipe", "File", "FastFile"]);
  }
  const resources = request.ResourceConfig;
  if (required(p, "resourceConfig", resources)) {
    instance(p, "resourceConfig", resources!.InstanceType, resources!.InstanceCount, resources!.VolumeSizeInGB, "training");
  }
  const stopping = request.StoppingCondition;
  if (required(p, "stoppingCondition", stopping)) {
    maxRuntime(p, "stoppingCondition.maxRuntimeInSeconds", stopping!.MaxRuntimeInSeconds, "training");
  }
  if (required(p, "outputDataConfig", request.OutputDataConfig)) {
    s3Uri(p, "outputDataConfig.s3OutputPath", request.OutputDataConfig!.S3OutputPath);
  }
  const channels = new Set<string>();
  (request.InputDataConfig ?? []).forEach((channel, i) => {
    const path = `inputDataConfig.${i + 1}.member`;
    if (required(p, `${path}.channelName`, channel.ChannelName)) {
      if (channels.has(channel.ChannelName!)) p.push(`Channel names must be unique: '${channel.ChannelName}' appears twice`);
      channels.add(channel.ChannelName!);
    }
    const s3 = channel.DataSource?.S3DataSource;
    if (required(p, `${path}.dataSource.s3DataSource`, s3)) {
      oneOf(p, `${path}.dataSource.s3DataSource.s3DataType`, s3!.S3DataType, ["ManifestFile", "S3Prefix", "AugmentedManifestFile", "Converse"]);
      s3Uri(p, `${path}.dataSource.s3DataSource.s3Uri`, s3!.S3Uri);
    }
  });
  for (const [key, value] of Object.entries(request.HyperParameters ?? {})) {
    if (typeof value !== "string") p.push(`HyperParameters.${key} must be a string (SageMaker passes every hyperparameter as a string)`);
  }
  if (request.EnableManagedSpotTraining) {
    const wait = stopping?.MaxWaitTimeInSeconds;
    if (wait === undefined) p.push("MaxWaitTimeInSeconds is required when EnableManagedSpotTraining is true");
    else if (stopping?.MaxRuntimeInSeconds !== undefined && wait < stopping.MaxRuntimeInSeconds) {
      p.push("MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds");
    }
    if (!request.CheckpointConfig?.S3Uri) p.push("CheckpointConfig.S3Uri is required for managed spot training so interrupted jobs can resume");
  }
  return p;
}

export function assertValidProcessingRequest(request: CreateProcessingJobRequest): void {
  const problems = processingRequestProblems(request);
  if (problems.length > 0) throw new SageMakerValidationError(problems);
}

export function assertValidTrainingRequest(request: CreateTrainingJobRequest): void {
  const problems = trainingRequestProblems(request);
  if (problems.length > 0) throw new SageMakerValidationError(problems);
}
