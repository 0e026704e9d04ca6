/**
 * The SageMaker request of each stage, as the typed SDK object the state machine sends: built
 * from the stage definition and the compile target, with `⟦$.path⟧` markers where execution
 * data goes (references.ts). Paths, names and tags come from the job layout and the stage contract.
 */
import type { Channel, CreateProcessingJobRequest, CreateTrainingJobRequest, ProcessingInput } from "@aws-sdk/client-sagemaker";
import type { CompileTarget } from "../compile-target.js";
import { effectiveInstance, type Pipeline } from "../define.js";
import { acceleratorOf, type InstanceType } from "../instances.js";
import { checkpointPrefix, stageOutputUri, TAGS } from "../layout.js";
import { ref } from "../references.js";
import { stageCapacity } from "../quotas.js";
import { CHECKPOINTS_PATH, EARLY_OUTPUTS_PATH, earlyOutputVariable, LINK_DAYS_ENV, PROCESSING_ROOT, PROGRESS_METRIC } from "../stage-contract.js";
import type { InputRef, ProcessingStage, Stage, TrainingStage } from "../stage.js";

/** JSONPath-safe key of a stage in the execution state (`$.stages.<key>`). */
export const stageKey = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** S3 location of a stage output, as a marker string resolved per execution. */
function outputUri(target: CompileTarget, pipeline: Pipeline, input: InputRef): string {
  if (input.kind === "job-input") return ref("$.inputUri");
  const source = pipeline.stages.find((s) => s.name === input.stage)!;
  if (source.kind === "training") return ref(`$.stages.${stageKey(source.name)}.modelArtifacts`);
  return stageOutputUri(target.bucket, ref("$.jobId"), input.output);
}

/** What every stage reads besides its own settings: the job, and the instance's accelerator
 *  (a GPU stage refuses to train on CPU when its instance type has a GPU it cannot see). */
function stageEnvironment(instanceType: InstanceType, stage: Stage, target: CompileTarget): Record<string, string> {
  // a stage that delivers links says on its page how long they work
  const env: Record<string, string> = { SPACEPORT_JOB_ID: ref("$.jobId"), SPACEPORT_ACCELERATOR: acceleratorOf(instanceType) };
  if (stage.kind === "processing" && Object.keys(stage.links).length > 0 && target.linkDays !== undefined) env[LINK_DAYS_ENV] = String(target.linkDays);
  return env;
}

function commonTags(pipeline: Pipeline, stage: Stage, target: CompileTarget) {
  return [
    { Key: TAGS.pipeline, Value: pipeline.name },
    // The state machine's role may create and watch only jobs tagged with its own environment.
    { Key: TAGS.environment, Value: target.environment },
    { Key: TAGS.stage, Value: stage.name },
    { Key: TAGS.job, Value: ref("$.jobId") },
  ];
}

function jobNameRef(stage: Stage): string {
  return ref(`$.runs.${stageKey(stage.name)}.jobName`);
}

export function processingRequest(pipeline: Pipeline, stage: ProcessingStage, target: CompileTarget): CreateProcessingJobRequest {
  const instance = effectiveInstance(stage, target.config);
  const inputs: ProcessingInput[] = Object.entries(stage.inputs).map(([name, input]) => ({
    InputName: name,
    AppManaged: false,
    S3Input: {
      S3Uri: outputUri(target, pipeline, input),
      LocalPath: `${PROCESSING_ROOT}/input/${name}`,
      S3DataType: "S3Prefix",
      S3InputMode: "File",
      S3DataDistributionType: "FullyReplicated",
    },
  }));
  return {
    ProcessingJobName: jobNameRef(stage),
    RoleArn: roleArn(target, stage),
    AppSpecification: { ImageUri: imageUri(target, stage) },
    ProcessingResources: {
      ClusterConfig: { InstanceType: instance.type, InstanceCount: instance.count, VolumeSizeInGB: instance.volumeSizeGb },
    },
    StoppingCondition: { MaxRuntimeInSeconds: stage.timeout.seconds },
    ProcessingInputs: inputs,
    ProcessingOutputConfig: {
      Outputs: stage.outputs.map((output) => ({
        OutputName: output,
        S3Output: {
          S3Uri: stageOutputUri(target.bucket, ref("$.jobId"), output),
          LocalPath: `${PROCESSING_ROOT}/output/${output}`,
          S3UploadMode: "EndOfJob",
        },
        AppManaged: false,
      })),
    },
    Environment: { ...stage.environment, ...stageEnvironment(instance.type, stage, target) },
    // No network for the container: SageMaker itself moves the declared inputs and outputs.
    NetworkConfig: { EnableNetworkIsolation: stage.networkAccess === undefined },
    Tags: commonTags(pipeline, stage, target),
  };
}

export function trainingRequest(pipeline: Pipeline, stage: TrainingStage, target: CompileTarget): CreateTrainingJobRequest {
  const instance = effectiveInstance(stage, target.config);
  const spot = stageCapacity(stage, instance.type, target.config).spot ? stage.spot : undefined;
  const channels: Channel[] = Object.entries(stage.inputs).map(([name, input]) => ({
    ChannelName: name,
    DataSource: {
      S3DataSource: { S3DataType: "S3Prefix", S3Uri: outputUri(target, pipeline, input), S3DataDistributionType: "FullyReplicated" },
    },
    InputMode: "File",
  }));
  const hyperparameters: Record<string, string> = {};
  for (const [key, value] of Object.entries(stage.hyperparameters)) {
    hyperparameters[key] = typeof value === "object" ? ref(`$.options.${value.name}`) : String(value);
  }
  const request: CreateTrainingJobRequest = {
    TrainingJobName: jobNameRef(stage),
    RoleArn: roleArn(target, stage),
    AlgorithmSpecification: {
      TrainingImage: imageUri(target, stage),
      TrainingInputMode: "File",
      // The progress lines every stage prints (the stage contract), then the stage's own numbers.
      MetricDefinitions: [{ ...PROGRESS_METRIC }, ...stage.metrics.map((m) => ({ Name: m.name, Regex: m.regex }))],
    },
    HyperParameters: hyperparameters,
    InputDataConfig: channels,
    OutputDataConfig: { S3OutputPath: stageOutputUri(target.bucket, ref("$.jobId"), stage.outputs[0]!) },
    ResourceConfig: { InstanceType: instance.type, InstanceCount: instance.count, VolumeSizeInGB: instance.volumeSizeGb },
    StoppingCondition: {
      MaxRuntimeInSeconds: stage.timeout.seconds,
      ...(spot ? { MaxWaitTimeInSeconds: spot.maxWait.seconds } : {}),
    },
    Environment: { ...stage.environment, ...stageEnvironment(instance.type, stage, target), ...earlyOutputEnvironment(stage) },
    EnableNetworkIsolation: stage.networkAccess === undefined,
    Tags: commonTags(pipeline, stage, target),
  };
  // Spot only where the environment has the spot quota (quotas.ts); otherwise on demand.
  if (spot) request.EnableManagedSpotTraining = true;
  // The checkpoint folder is what SageMaker copies to S3 while the job runs: spot resumes from
  // it, and an early output appears there.
  if (spot || Object.keys(stage.earlyOutputs).length > 0) {
    request.CheckpointConfig = {
      S3Uri: `s3://${target.bucket}/${checkpointPrefix(ref("$.jobId"), stage.name)}`,
      LocalPath: CHECKPOINTS_PATH,
    };
  }
  return request;
}

/** Where the stage writes each declared early output (the stage contract): no variable, no early output. */
function earlyOutputEnvironment(stage: TrainingStage): Record<string, string> {
  return Object.fromEntries(Object.keys(stage.earlyOutputs).map((output) => [earlyOutputVariable(output), `${EARLY_OUTPUTS_PATH}/${output}`]));
}

function roleArn(target: CompileTarget, stage: Stage): string {
  const arn = target.roleArns[stage.name];
  if (!arn) throw new Error(`stage "${stage.name}": no SageMaker execution role for this stage in environment "${target.environment}"`);
  return arn;
}

function imageUri(target: CompileTarget, stage: Stage): string {
  const uri = target.images[stage.name];
  if (!uri) throw new Error(`stage "${stage.name}": no image URI for this stage in environment "${target.environment}"`);
  return uri;
}
