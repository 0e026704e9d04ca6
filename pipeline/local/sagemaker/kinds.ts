/**
 * Processing and training jobs share one structure (emulator.ts `runJob`): validate, find the
 * stage, wait for quota, lay out /opt/ml, run, collect outputs, answer like Describe*Job. What
 * differs between the two kinds lives here, one `JobKindContract` each.
 */
import type { CreateProcessingJobRequest, CreateTrainingJobRequest, Tag } from "@aws-sdk/client-sagemaker";
import { assertValidProcessingRequest, assertValidTrainingRequest } from "../../sagemaker/validate-request.js";
import type { DataDir } from "../data.js";
import { collectProcessing, collectTraining, layOutProcessing, layOutTraining, modelArtifactsUri, startCheckpointSync, type JobFolder } from "./container.js";
import { asSageMakerError, jobArn, NamedError, type JobKind, type Metric, type RunOutcome } from "./job-spec.js";
import { readReason } from "./logs.js";
import type { QuotaKind } from "../../quotas.js";

/** How one job ended, for its Describe answer. */
export interface JobEnd {
  readonly created: Date;
  readonly ended: Date;
  readonly outcome: RunOutcome;
  /** FailureReason when it failed. */
  readonly reason?: string;
}

export interface JobKindContract {
  readonly kind: JobKind;
  /** The quota the job draws on: managed spot training has its own. */
  readonly quotaKind: QuotaKind;
  readonly name: string;
  readonly imageUri: string;
  readonly instance: { readonly type: string; readonly count: number };
  readonly tags: readonly Tag[];
  readonly maxRuntimeSeconds?: number;
  /** Lays out /opt/ml; answers the entry program's arguments, environment and metrics to read. */
  layOut(folder: JobFolder): { args: string[]; entrypoint?: string; environment: Record<string, string>; metricDefinitions: readonly Metric[] };
  /** While the program runs (training: the checkpoint folder copied to S3); stopped when it ends. */
  whileRunning?(folder: JobFolder): { stop(): void } | undefined;
  /** After the run: outputs back to the buckets. */
  collect(folder: JobFolder, ok: boolean): Promise<void>;
  describe(folder: JobFolder, end: JobEnd): Record<string, unknown>;
}

function validated<T>(request: T, check: (r: T) => void): T {
  try {
    check(request);
  } catch (error) {
    throw asSageMakerError(error);
  }
  return request;
}

export function processingContract(data: DataDir, input: CreateProcessingJobRequest): JobKindContract {
  const request = validated(input, assertValidProcessingRequest);
  const name = request.ProcessingJobName!;
  const cluster = request.ProcessingResources!.ClusterConfig!;
  return {
    kind: "processing",
    quotaKind: "processing",
    name,
    imageUri: request.AppSpecification!.ImageUri!,
    instance: { type: cluster.InstanceType!, count: cluster.InstanceCount! },
    tags: request.Tags ?? [],
    ...(request.StoppingCondition?.MaxRuntimeInSeconds !== undefined ? { maxRuntimeSeconds: request.StoppingCondition.MaxRuntimeInSeconds } : {}),
    layOut: (folder) => ({
      args: layOutProcessing(data, folder.optMl, request),
      ...(request.AppSpecification?.ContainerEntrypoint?.[0] ? { entrypoint: request.AppSpecification.ContainerEntrypoint[0] } : {}),
      environment: { ...(request.Environment ?? {}) },
      metricDefinitions: [],
    }),
    collect: async (folder, ok) => {
      if (ok) collectProcessing(data, folder.optMl, request);
    },
    describe: (folder, end) => {
      const message = readReason(folder.optMl, "message");
      return {
        ProcessingJobName: name,
        ProcessingJobArn: jobArn("processing", name),
        ProcessingJobStatus: end.outcome.ok ? "Completed" : "Failed",
        ProcessingInputs: request.ProcessingInputs ?? [],
        ProcessingOutputConfig: request.ProcessingOutputConfig ?? { Outputs: [] },
        ProcessingResources: request.ProcessingResources,
        StoppingCondition: request.StoppingCondition,
        AppSpecification: request.AppSpecification,
        Environment: request.Environment ?? {},
        RoleArn: request.RoleArn,
        Tags: request.Tags ?? [],
        CreationTime: end.created.getTime(),
        ProcessingStartTime: end.created.getTime(),
        ProcessingEndTime: end.ended.getTime(),
        LastModifiedTime: end.ended.getTime(),
        ...(end.outcome.ok ? {} : { FailureReason: end.reason }),
        ...(message ? { ExitMessage: message } : {}),
      };
    },
  };
}

export function trainingContract(data: DataDir, input: CreateTrainingJobRequest): JobKindContract {
  const request = validated(input, assertValidTrainingRequest);
  const name = request.TrainingJobName!;
  const imageUri = request.AlgorithmSpecification?.TrainingImage;
  if (!imageUri) throw new NamedError("SageMaker.ValidationException", "the local runtime runs TrainingImage only (no AlgorithmName)");
  const resources = request.ResourceConfig!;
  return {
    kind: "training",
    quotaKind: request.EnableManagedSpotTraining ? "spot-training" : "training",
    name,
    imageUri,
    instance: { type: resources.InstanceType!, count: resources.InstanceCount! },
    tags: request.Tags ?? [],
    ...(request.StoppingCondition?.MaxRuntimeInSeconds !== undefined ? { maxRuntimeSeconds: request.StoppingCondition.MaxRuntimeInSeconds } : {}),
    layOut: (folder) => {
      layOutTraining(data, folder.optMl, request);
      return {
        args: ["train"],
        environment: { ...(request.Environment ?? {}), TRAINING_JOB_NAME: name, TRAINING_JOB_ARN: jobArn("training", name) },
        metricDefinitions: (request.AlgorithmSpecification?.MetricDefinitions ?? []) as Metric[],
      };
    },
    whileRunning: (folder) => startCheckpointSync(data, folder, request),
    collect: (folder, ok) => collectTraining(data, folder, request, ok),
    describe: (_folder, end) => trainingDescribe(request, end),
  };
}

function trainingDescribe(request: CreateTrainingJobRequest, end: JobEnd): Record<string, unknown> {
  const name = request.TrainingJobName!;
  const seconds = Math.max(1, Math.round((end.ended.getTime() - end.created.getTime()) / 1000));
  const { outcome } = end;
  return {
    TrainingJobName: name,
    TrainingJobArn: jobArn("training", name),
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
    CreationTime: end.created.getTime(),
    TrainingStartTime: end.created.getTime(),
    TrainingEndTime: end.ended.getTime(),
    LastModifiedTime: end.ended.getTime(),
    TrainingTimeInSeconds: seconds,
    BillableTimeInSeconds: seconds,
    FinalMetricDataList: [...(outcome.metrics ?? [])].map(([MetricName, Value]) => ({ MetricName, Value, Timestamp: end.ended.getTime() })),
    TrainingJobStatus: outcome.ok ? "Completed" : "Failed",
    SecondaryStatus: outcome.ok ? "Completed" : outcome.timedOut ? "MaxRuntimeExceeded" : "Failed",
    ...(outcome.ok ? {} : { FailureReason: end.reason }),
    ModelArtifacts: { S3ModelArtifacts: modelArtifactsUri(request) },
  };
}
