/**
 * IAM policy documents, as pure functions of resolved ARNs and the pipeline: what each role
 * may do and on what. The stack feeds them resolved outputs; the tests check every statement
 * against an allow-list. Least privilege: every action is scoped to this stack's buckets,
 * prefixes, repositories, jobs and functions. `"*"` appears only where the AWS API has no
 * resource-level permissions, each such case marked `WILDCARD_REASONS`.
 */
import type { Pipeline } from "../define.js";
import { earlyRuns } from "../early.js";
import { earlyOutputPrefix, everyJobFolder, JOB_FOLDERS, JOB_ID_GLOB, sageMakerJobNameGlob, stageOutputPrefix, TAGS } from "../layout.js";
import { EARLY_OUTPUT_COMPLETE } from "../stage-contract.js";

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: readonly string[];
  readonly Resource: readonly string[] | "*";
  readonly Principal?: unknown;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | boolean | readonly string[]>>>>;
}
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export interface AwsContext {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
}

/** Why a statement's Resource is `"*"`: the only places the tests accept one. */
export const WILDCARD_REASONS: Readonly<Record<string, string>> = {
  EcrAuthToken: "ecr:GetAuthorizationToken has no resource-level permissions",
  PutMetrics: "cloudwatch:PutMetricData has no resource-level permissions (limited by namespace condition)",
  LogDelivery: "CloudWatch Logs vended-log delivery APIs (Step Functions logging) have no resource-level permissions",
  XRay: "X-Ray trace upload and sampling APIs have no resource-level permissions",
};

export const doc = (...statements: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement: statements });

/** A role's trust policy: one AWS service may assume it, and only on behalf of this account (confused deputy). */
export function serviceTrustPolicy(service: string, accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": accountId } } },
    ],
  });
}

/** A bucket ARN from its name (S3 ARNs carry no region or account). */
export const bucketArn = (ctx: AwsContext, bucket: string): string => `arn:${ctx.partition}:s3:::${bucket}`;

/**
 * Prefixes under `jobs/<jobId>/` a pipeline's containers read and write. Outputs of every
 * stage are written by that stage and read by the next; `input/` is only read; checkpoints
 * (spot training) are written and read back on resume.
 */
export function jobPrefixes(pipeline: Pipeline): { read: string[]; write: string[]; intermediate: string[]; delivered: string } {
  const outputs = [...new Set(pipeline.stages.flatMap((s) => [...s.outputs]))];
  const checkpoints: string[] = pipeline.stages.some((s) => s.kind === "training" && (s.spot || Object.keys(s.earlyOutputs).length > 0)) ? [JOB_FOLDERS.checkpoints] : [];
  const delivered = pipeline.delivery.output;
  return {
    read: [JOB_FOLDERS.input, ...outputs.filter((o) => o !== delivered), ...checkpoints],
    write: [...outputs, ...checkpoints],
    intermediate: [...outputs.filter((o) => o !== delivered), ...checkpoints],
    delivered,
  };
}

/** SageMaker job ARNs of each stage (job names from the job layout: `<jobId>-<stage>-<attempt>`). */
export function sageMakerJobArns(ctx: AwsContext, pipeline: Pipeline): string[] {
  return pipeline.stages.map((s) => `arn:${ctx.partition}:sagemaker:${ctx.region}:${ctx.accountId}:${s.kind}-job/${sageMakerJobNameGlob(s.name)}`);
}

/** The state machine's role: its own SageMaker jobs, the `.sync` rules, notify, logging, tracing. */
export function stateMachinePolicy(input: {
  ctx: AwsContext;
  pipeline: Pipeline;
  environment: string;
  /** Every stage's SageMaker execution role. */
  sageMakerRoleArns: readonly string[];
  notifyFunctionArn: string;
  /** Where the looks for an early output list (the pipeline's early runs); none without one. */
  processingBucket?: string;
}): PolicyDocument {
  const { ctx, pipeline } = input;
  const looks = input.processingBucket ? earlyOutputLooks(ctx, pipeline, input.processingBucket) : [];
  const jobs = sageMakerJobArns(ctx, pipeline);
  const kinds = [...new Set(pipeline.stages.map((s) => s.kind))].sort();
  const verb = (kind: string) => (kind === "training" ? "TrainingJob" : "ProcessingJob");
  const rules = kinds.map(
    (kind) =>
      `arn:${ctx.partition}:events:${ctx.region}:${ctx.accountId}:rule/StepFunctionsGetEventsFor${kind === "training" ? "SageMakerTrainingJobsRule" : "SageMakerProcessingJobsRule"}`,
  );
  return doc(
    {
      Sid: "CreateOwnJobs",
      Effect: "Allow",
      Action: kinds.map((k) => `sagemaker:Create${verb(k)}`),
      Resource: jobs,
      // The compiled requests always carry the pipeline's and the environment's tags: dev's
      // role cannot create prod's jobs (both share the job-name pattern) and the other way round.
      Condition: { StringEquals: { [`aws:RequestTag/${TAGS.pipeline}`]: pipeline.name, [`aws:RequestTag/${TAGS.environment}`]: input.environment } },
    },
    {
      Sid: "TagOwnJobs",
      Effect: "Allow",
      // The compiled requests carry Tags, and `.sync` adds MANAGED_BY_AWS=STARTED_BY_STEP_FUNCTIONS.
      Action: ["sagemaker:AddTags"],
      Resource: jobs,
    },
    {
      Sid: "WatchOwnJobs",
      Effect: "Allow",
      Action: [...kinds.flatMap((k) => [`sagemaker:Describe${verb(k)}`, `sagemaker:Stop${verb(k)}`]), "sagemaker:ListTags"],
      Resource: jobs,
      Condition: { StringEquals: { [`aws:ResourceTag/${TAGS.environment}`]: input.environment } },
    },
    {
      Sid: "SyncEventRules",
      Effect: "Allow",
      // `.sync` waits for SageMaker jobs through these Step Functions-managed EventBridge rules.
      Action: ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
      Resource: rules,
    },
    {
      Sid: "PassSageMakerRole",
      Effect: "Allow",
      Action: ["iam:PassRole"],
      Resource: [...input.sageMakerRoleArns],
      Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
    },
    {
      Sid: "InvokeNotify",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction"],
      Resource: [input.notifyFunctionArn, `${input.notifyFunctionArn}:*`],
    },
    ...looks,
    STATE_MACHINE_LOG_DELIVERY,
    STATE_MACHINE_XRAY,
  );
}

/**
 * The looks for an early output (compile-early.ts): listing, with MaxKeys 1, exactly its
 * completion marker and the producer's final output folder, for any job. Nothing is read.
 */
export function earlyOutputLooks(ctx: AwsContext, pipeline: Pipeline, bucket: string): PolicyStatement[] {
  const prefixes = earlyRuns(pipeline).flatMap((run) => [
    `${earlyOutputPrefix(JOB_ID_GLOB, run.producer.name, run.output)}${EARLY_OUTPUT_COMPLETE}`,
    stageOutputPrefix(JOB_ID_GLOB, run.producer.outputs[0]!),
  ]);
  if (prefixes.length === 0) return [];
  return [{ Sid: "LookForEarlyOutputs", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn(ctx, bucket)], Condition: { StringLike: { "s3:prefix": prefixes } } }];
}

/** Step Functions logging to CloudWatch Logs. WILDCARD_REASONS.LogDelivery */
const STATE_MACHINE_LOG_DELIVERY: PolicyStatement = {
  Sid: "LogDelivery",
  Effect: "Allow",
  Action: [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
  ],
  Resource: "*",
};

/** Tracing of the state machine. WILDCARD_REASONS.XRay */
const STATE_MACHINE_XRAY: PolicyStatement = {
  Sid: "XRay",
  Effect: "Allow",
  Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
  Resource: "*",
};

/** Logs of one Lambda function (its own log group only). */
export function functionLogs(ctx: AwsContext, functionName: string): PolicyStatement {
  const group = `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/lambda/${functionName}`;
  return { Sid: "OwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${group}:*`] };
}

/** X-Ray for an active-tracing Lambda function. */
export const functionTracing: PolicyStatement = {
  Sid: "XRay",
  Effect: "Allow",
  Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
  Resource: "*", // WILDCARD_REASONS.XRay
};

/** Execution ARNs of one state machine (`arn:…:execution:<name>:<execution>`). */
export function executionArns(stateMachineArn: string): string {
  return `${stateMachineArn.replace(":stateMachine:", ":execution:")}:*`;
}

export interface FunctionPolicyInput {
  readonly ctx: AwsContext;
  readonly functionName: string;
  readonly processingBucket: string;
  readonly stateMachineArn: string;
}

/**
 * Listing a bucket is what makes S3 answer 404 (not 403) for a missing key; the handlers rely
 * on that ("input not found", "no idempotency record yet"). Keys hold no personal data.
 */
export const readExecutions = (stateMachineArn: string): PolicyStatement => ({
  Sid: "ReadExecutions",
  Effect: "Allow",
  Action: ["states:DescribeExecution", "states:GetExecutionHistory"],
  Resource: [executionArns(stateMachineArn)],
});

export const listBuckets = (sid: string, buckets: readonly string[]): PolicyStatement => ({
  Sid: sid,
  Effect: "Allow",
  Action: ["s3:ListBucket"],
  Resource: [...buckets],
});

/** start-job: read submitted ZIPs, copy them into `jobs/<id>/input/`, keep idempotency records and daily counts, start executions. */
export function startJobPolicy(
  input: FunctionPolicyInput & { uploadsBucket: string; allowedInputBuckets: readonly string[]; statePrefixes: readonly string[] },
): PolicyDocument {
  const { ctx } = input;
  const processing = bucketArn(ctx, input.processingBucket);
  const sources = [input.uploadsBucket, ...input.allowedInputBuckets].map((b) => bucketArn(ctx, b));
  return doc(
    functionLogs(ctx, input.functionName),
    functionTracing,
    // HeadObject is authorized as GetObject; CopyObject needs GetObject (and, for a tagged
    // source, GetObjectTagging) on the source.
    {
      Sid: "ReadSubmittedInputs",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectTagging"],
      Resource: sources.map((b) => `${b}/*`),
    },
    listBuckets("FindSubmittedInputs", sources),
    {
      Sid: "CopyJobInput",
      Effect: "Allow",
      // object-store.ts copies with TaggingDirective REPLACE (no tags); PutObjectTagging covers a tagging directive on the copy.
      Action: ["s3:PutObject", "s3:PutObjectTagging"],
      Resource: [`${processing}/${everyJobFolder(JOB_FOLDERS.input)}`],
    },
    {
      Sid: "ApiState",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject"],
      Resource: input.statePrefixes.map((p) => `${processing}/${p}*`),
    },
    listBuckets("ListApiState", [processing]),
    // ListExecutions (running ones, counted to warn a submitter about a long queue) is authorized on the state machine.
    { Sid: "StartExecution", Effect: "Allow", Action: ["states:StartExecution", "states:ListExecutions"], Resource: [input.stateMachineArn] },
    { Sid: "DescribeExecution", Effect: "Allow", Action: ["states:DescribeExecution"], Resource: [executionArns(input.stateMachineArn)] },
  );
}

/**
 * job-status: the execution and its history, and the running stage's `progress:` lines from
 * SageMaker's job log groups (links are CloudFront URLs: no S3 access needed).
 */
export function jobStatusPolicy(input: FunctionPolicyInput & { pipeline: Pipeline }): PolicyDocument {
  const { ctx } = input;
  const kinds = [...new Set(input.pipeline.stages.map((s) => s.kind))].sort();
  // FilterLogEvents is authorized on the log group: SageMaker writes every job of a kind to one
  // group (`/aws/sagemaker/ProcessingJobs`, `/aws/sagemaker/TrainingJobs`), streams `<jobName>/…`.
  const groups = kinds.map(
    (kind) => `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/sagemaker/${kind === "training" ? "TrainingJobs" : "ProcessingJobs"}`,
  );
  return doc(
    functionLogs(ctx, input.functionName),
    functionTracing,
    readExecutions(input.stateMachineArn),
    { Sid: "ReadStageProgress", Effect: "Allow", Action: ["logs:FilterLogEvents"], Resource: groups.flatMap((g) => [g, `${g}:*`]) },
    // A stopped job reads `cancelled` from the marker a cancel request wrote (functions/markers.ts).
    { Sid: "ReadCancelMarkers", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucketArn(ctx, input.processingBucket)}/${everyJobFolder(JOB_FOLDERS.status)}`] },
    listBuckets("FindCancelMarkers", [bucketArn(ctx, input.processingBucket)]),
  );
}

/**
 * notify: the stage reports and the delivery, its own "sent" markers (`jobs/<id>/status/`),
 * the execution's history (durations), and one email through the stack's identity and configuration set.
 */
export function notifyPolicy(
  input: FunctionPolicyInput & { pipeline: Pipeline; identityArn: string; configurationSetArn: string },
): PolicyDocument {
  const { ctx } = input;
  const processing = bucketArn(ctx, input.processingBucket);
  const prefixes = jobPrefixes(input.pipeline);
  // Processing stages write a report.json beside their outputs (training packs its results in model.tar.gz).
  const reports = input.pipeline.stages
    .filter((s) => s.kind === "processing")
    .flatMap((s) => [...s.outputs])
    .filter((o) => o !== prefixes.delivered)
    .map((o) => `${processing}/${everyJobFolder(o, "report.json")}`);
  return doc(
    functionLogs(ctx, input.functionName),
    functionTracing,
    {
      Sid: "ReadJobResults",
      Effect: "Allow",
      Action: ["s3:GetObject"],
      Resource: [...reports, `${processing}/${everyJobFolder(prefixes.delivered)}`],
    },
    { Sid: "NotificationMarkers", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: [`${processing}/${everyJobFolder(JOB_FOLDERS.status)}`] },
    listBuckets("FindJobFiles", [processing]),
    readExecutions(input.stateMachineArn),
    {
      Sid: "SendEmail",
      Effect: "Allow",
      // SES v2 SendEmail is authorized against both the identity and the configuration set.
      Action: ["ses:SendEmail"],
      Resource: [input.identityArn, input.configurationSetArn],
    },
  );
}

/** The retention tagger: marks intermediate objects for early expiry (see retention.ts). */
export function retentionTaggerPolicy(input: Omit<FunctionPolicyInput, "stateMachineArn"> & { pipeline: Pipeline }): PolicyDocument {
  const { ctx } = input;
  const processing = bucketArn(ctx, input.processingBucket);
  return doc(functionLogs(ctx, input.functionName), functionTracing, {
    Sid: "TagIntermediates",
    Effect: "Allow",
    Action: ["s3:PutObjectTagging"],
    Resource: jobPrefixes(input.pipeline).intermediate.map((p) => `${processing}/${everyJobFolder(p)}`),
  });
}

/**
 * Bucket policy: TLS only, plus CloudFront reads of what it serves only: deliveries (processing
 * bucket, `deliveryPrefix`) or the page's files (page bucket, `keys`).
 */
export function bucketPolicy(input: {
  ctx: AwsContext;
  bucket: string;
  cloudFront?: { distributionArn: string } & ({ deliveryPrefix: string } | { keys: string });
}): PolicyDocument {
  const bucket = bucketArn(input.ctx, input.bucket);
  const statements: PolicyStatement[] = [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: ["s3:*"],
      Resource: [bucket, `${bucket}/*`],
      Condition: { Bool: { "aws:SecureTransport": false } },
    },
  ];
  if (input.cloudFront) {
    statements.push({
      Sid: "deliveryPrefix" in input.cloudFront ? "CloudFrontReadsDeliveries" : "CloudFrontReadsPage",
      Effect: "Allow",
      Principal: { Service: "cloudfront.amazonaws.com" },
      Action: ["s3:GetObject"],
      Resource: [`${bucket}/${"deliveryPrefix" in input.cloudFront ? everyJobFolder(input.cloudFront.deliveryPrefix) : input.cloudFront.keys}`],
      Condition: { StringEquals: { "AWS:SourceArn": input.cloudFront.distributionArn } },
    });
  }
  return doc(...statements);
}

