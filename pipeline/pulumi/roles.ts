/**
 * One SageMaker execution role per stage, derived from that stage's compiled request: the
 * S3 locations the request names (inputs read, outputs written, checkpoints both) are the
 * only objects the role reaches. So the SfM job, which parses untrusted ZIPs, can write
 * `jobs/<id>/sfm/` and nothing else: not the delivery CloudFront serves, not other stages'
 * outputs. With network isolation on (compile.ts), the container cannot use the role at all;
 * SageMaker moves exactly the request's own job's objects. Pure functions, no Pulumi.
 */
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import type { CompiledPipeline, CompiledStage } from "../compile.js";
import { stageOutputPrefix } from "../layout.js";
import { bucketArn, serviceTrustPolicy, type AwsContext, type PolicyDocument, type PolicyStatement } from "./policies.js";

/** Where a job id sits in an S3 key pattern: job ids are `YYYYMMDD-HHMMSS-xxxxxxxx` (layout.ts). */
const JOB_ID_PATTERN = "????????-??????-????????";
const MARKER = /⟦(\$[^⟧]*)⟧/g;

export interface StageS3Access {
  /** `s3://bucket/prefix` patterns, job ids as `JOB_ID_PATTERN`. */
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/** The URIs a compiled request reads and writes, execution markers still in. */
function requestUris(stage: CompiledStage): { read: string[]; write: string[] } {
  if (stage.kind === "processing") {
    const request: CreateProcessingJobRequest = stage.request;
    // Its preview run reads the early inputs too (the same outputs).
    const inputs = [...(request.ProcessingInputs ?? []), ...(stage.previewRequest?.ProcessingInputs ?? [])];
    return {
      read: inputs.map((i) => i.S3Input?.S3Uri).filter((u): u is string => u !== undefined),
      write: (request.ProcessingOutputConfig?.Outputs ?? []).map((o) => o.S3Output?.S3Uri).filter((u): u is string => u !== undefined),
    };
  }
  const request: CreateTrainingJobRequest = stage.request;
  const checkpoints = request.CheckpointConfig?.S3Uri ? [request.CheckpointConfig.S3Uri] : [];
  return {
    read: [
      ...(request.InputDataConfig ?? []).map((c) => c.DataSource?.S3DataSource?.S3Uri).filter((u): u is string => u !== undefined),
      ...checkpoints,
    ],
    write: [...(request.OutputDataConfig?.S3OutputPath ? [request.OutputDataConfig.S3OutputPath] : []), ...checkpoints],
  };
}

/**
 * Replaces each marker by the location it stands for: `$.jobId` by the job-id pattern, the
 * job input by its folder (start-job copies it to `jobs/<id>/input/`), a training stage's
 * model artifacts by that stage's output path. Any other marker cannot be scoped: an error.
 */
function resolveUri(uri: string, compiled: CompiledPipeline, bucket: string, depth = 0): string {
  if (depth > compiled.stages.length) throw new Error(`cannot resolve ${uri}: the stages' outputs refer to each other`);
  return uri.replace(MARKER, (_, path: string) => {
    if (path === "$.jobId") return JOB_ID_PATTERN;
    if (path === "$.inputUri") return `s3://${bucket}/${stageOutputPrefix(JOB_ID_PATTERN, "input")}`;
    const artifacts = /^\$\.stages\.([A-Za-z0-9]+)\.modelArtifacts$/.exec(path);
    const source = artifacts && compiled.stages.find((s) => s.key === artifacts[1] && s.kind === "training");
    if (source && source.kind === "training") {
      return resolveUri(source.request.OutputDataConfig!.S3OutputPath!, compiled, bucket, depth + 1);
    }
    throw new Error(`stage role: cannot scope the S3 location ${uri} (execution data ${path} is not a known location)`);
  });
}

export function stageS3Access(compiled: CompiledPipeline, stageName: string, bucket: string): StageS3Access {
  const stage = compiled.stages.find((s) => s.name === stageName);
  if (!stage) throw new Error(`stage role: no stage "${stageName}" in ${compiled.pipeline.name}`);
  const uris = requestUris(stage);
  const resolve = (list: string[]) => [...new Set(list.map((u) => resolveUri(u, compiled, bucket)))];
  return { read: resolve(uris.read), write: resolve(uris.write) };
}

function s3Parts(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!match) throw new Error(`stage role: not an s3:// location: ${uri}`);
  return { bucket: match[1]!, prefix: match[2]! };
}

/** Object ARNs under each location (a location is a prefix: `.../sfm/` → `.../sfm/*`). */
const objectArns = (ctx: AwsContext, uris: readonly string[]) =>
  uris.map((u) => {
    const { bucket, prefix } = s3Parts(u);
    return `${bucketArn(ctx, bucket)}/${prefix}${prefix.endsWith("*") ? "" : "*"}`;
  });

/** The execution role policy of one stage. */
export function stageExecutionPolicy(input: {
  ctx: AwsContext;
  compiled: CompiledPipeline;
  stage: string;
  bucket: string;
  repositoryArn: string;
}): PolicyDocument {
  const { ctx } = input;
  const access = stageS3Access(input.compiled, input.stage, input.bucket);
  const buckets = [...new Set([...access.read, ...access.write].map((u) => s3Parts(u).bucket))].sort();
  const prefixes = [...new Set([...access.read, ...access.write].map((u) => `${s3Parts(u).prefix}*`))].sort();
  const logGroup = `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/sagemaker/*`;
  const statements: PolicyStatement[] = [
    { Sid: "BucketLocation", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: buckets.map((b) => bucketArn(ctx, b)) },
    {
      Sid: "ListStagePrefixes",
      Effect: "Allow",
      Action: ["s3:ListBucket"],
      Resource: buckets.map((b) => bucketArn(ctx, b)),
      Condition: { StringLike: { "s3:prefix": prefixes } },
    },
    { Sid: "ReadStageInputs", Effect: "Allow", Action: ["s3:GetObject"], Resource: objectArns(ctx, access.read) },
    { Sid: "WriteStageOutputs", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: objectArns(ctx, access.write) },
    {
      Sid: "PullStageImage",
      Effect: "Allow",
      Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
      Resource: [input.repositoryArn],
    },
    // WILDCARD_REASONS.EcrAuthToken
    { Sid: "EcrAuthToken", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
    {
      Sid: "JobLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
      Resource: [logGroup, `${logGroup}:log-stream:*`],
    },
    // WILDCARD_REASONS.PutMetrics
    {
      Sid: "PutMetrics",
      Effect: "Allow",
      Action: ["cloudwatch:PutMetricData"],
      Resource: "*",
      Condition: { StringLike: { "cloudwatch:namespace": "/aws/sagemaker/*" } },
    },
  ];
  return { Version: "2012-10-17", Statement: statements };
}

/** The SageMaker role's trust policy: SageMaker only, from this account only. */
export const sageMakerTrustPolicy = (accountId: string): string => serviceTrustPolicy("sagemaker.amazonaws.com", accountId);
