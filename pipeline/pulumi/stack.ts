/**
 * `PipelineStack`: everything one environment of a compiled pipeline needs on AWS. Any
 * pipeline built with the DSL gets the same infrastructure, made of sub-components (each a
 * `ComponentResource` with documented args and a `transform` hook for its main resources):
 *
 *   JobStorage       the uploads and processing buckets          components/storage.ts
 *   StageImages      an ECR repository and image per stage       components/images.ts
 *   JobDelivery      the result email (SES) and delivery links   components/delivery.ts
 *   JobApi           the HTTP API, throttling, access logs       components/api.ts
 *   JobFunctions     notify, start-job, job-status, tagger       components/functions.ts
 *   JobStateMachine  SageMaker roles, the compiled state machine components/state-machine.ts
 *   JobAlarms        failed/timed-out jobs, function errors      components/alarms.ts
 *
 * plus the EventBridge rule that mails endings no Catch sees (events.ts) and, where this stack
 * manages them, SageMaker's job log groups (sagemaker-logs.ts).
 *
 * The pipeline, its Lambda entries and the repository root come from the caller (index.ts):
 * this layer knows no stage of its own.
 */
import * as aws from "@pulumi/aws";
import type * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { validateForEnvironment, type Pipeline } from "../define.js";
import type { EnvironmentConfig } from "../environment.js";
import { TAGS } from "../layout.js";
import { executionEndedNotifications } from "./events.js";
import type { FunctionId, FunctionSettings } from "./function-settings.js";
import type { AwsContext } from "./policies.js";
import { sageMakerLogGroups } from "./sagemaker-logs.js";
import { JobAlarms } from "./components/alarms.js";
import { JobApi } from "./components/api.js";
import type { ComponentContext, Transform } from "./components/component.js";
import { dkimRecords, JobDelivery, type DkimRecord } from "./components/delivery.js";
import { JobFunctions, type FunctionEntries } from "./components/functions.js";
import { StageImages } from "./components/images.js";
import { JobStateMachine } from "./components/state-machine.js";
import { JobStorage } from "./components/storage.js";

export { checkEnvironmentSize, type FunctionEntries } from "./components/functions.js";
export type { Transform } from "./components/component.js";

export interface PipelineStackArgs {
  readonly pipeline: Pipeline;
  /** Environment (= Pulumi stack) name: prod, dev. */
  readonly environment: string;
  readonly config: EnvironmentConfig;
  /** Repository root: Docker build context and base of the function entries. */
  readonly root: string;
  /** The Lambda entries that bind the handlers to this pipeline, each exporting `handler`. */
  readonly functions: FunctionEntries;
  /**
   * Folders of the processing bucket outside `jobs/` where the API keeps its own records
   * (idempotency records, daily counts), each with how long its objects live.
   */
  readonly apiState: readonly { readonly prefix: string; readonly expireAfterDays: number }[];
  /** Days CloudWatch keeps logs (default 90). */
  readonly logRetentionDays?: number;
  /** Memory and timeout per function; defaults in function-settings.ts `DEFAULT_FUNCTION_SETTINGS`. */
  readonly functionSettings?: Partial<Record<FunctionId, Partial<FunctionSettings>>>;
  /** Changes to the main resources of each sub-component before they are made (SST-style). */
  readonly transform?: {
    readonly bucket?: Transform<aws.s3.BucketArgs>;
    readonly repository?: Transform<aws.ecr.RepositoryArgs>;
    readonly image?: Transform<dockerBuild.ImageArgs>;
    readonly distribution?: Transform<aws.cloudfront.DistributionArgs>;
    readonly api?: Transform<aws.apigatewayv2.ApiArgs>;
    readonly function?: Transform<aws.lambda.FunctionArgs>;
    readonly stateMachine?: Transform<aws.sfn.StateMachineArgs>;
    readonly alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
  };
}

/** Checked before anything is registered: quotas and overrides (naming the stage), the SES sender. */
function validate(args: PipelineStackArgs): void {
  validateForEnvironment(args.pipeline, args.environment, args.config);
  const { sesDomain, sesSender } = args.config;
  if (sesDomain && !sesSender.toLowerCase().endsWith(`@${sesDomain}`)) {
    throw new Error(`spaceport:sesDomain: the sender ${sesSender} (spaceport:sesSender) is not an address at ${sesDomain}`);
  }
}

export class PipelineStack extends pulumi.ComponentResource {
  readonly uploadsBucket: aws.s3.Bucket;
  readonly processingBucket: aws.s3.Bucket;
  readonly repositories: Record<string, aws.ecr.Repository>;
  readonly images: Record<string, pulumi.Output<string>>;
  /** SageMaker execution role per stage. */
  readonly sageMakerRoles: Record<string, aws.iam.Role>;
  readonly stateMachine: aws.sfn.StateMachine;
  readonly functions: Record<"startJob" | "jobStatus" | "notify" | "retentionTagger", aws.lambda.Function>;
  readonly api: aws.apigatewayv2.Api;
  readonly apiUrl: pulumi.Output<string>;
  readonly distribution: aws.cloudfront.Distribution;
  readonly deliveryBaseUrl: pulumi.Output<string>;
  readonly alarmTopic: aws.sns.Topic;
  /** DKIM CNAME records to publish (`spaceport:sesDomain` only; empty for a single-address identity). */
  readonly dkimRecords: pulumi.Output<DkimRecord[]>;
  /** The compile target the deployed ASL was compiled from (for the local runtime and reviews). */
  readonly compileTarget: pulumi.Output<string>;
  /** The deployed ASL, exactly. */
  readonly definitionJson: pulumi.Output<string>;

  constructor(name: string, args: PipelineStackArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before anything is registered, so the compile in an apply below cannot fail for the environment's sake.
    validate(args);
    super("spaceport:pipeline:PipelineStack", name, {}, opts);
    const { pipeline, environment, config } = args;
    const parent = { parent: this };
    const context: ComponentContext = { name, prefix: `${pipeline.name}-${environment}`, tags: { [TAGS.pipeline]: pipeline.name, [TAGS.environment]: environment } };
    const logRetentionDays = args.logRetentionDays ?? 90;
    const formerParent = this;
    const t = args.transform ?? {};

    const identity = aws.getCallerIdentityOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);
    const ctx: pulumi.Output<AwsContext> = pulumi
      .all([identity.accountId, partition.partition])
      .apply(([accountId, part]) => ({ accountId, partition: part, region: config.region }));

    const storage = new JobStorage(`${name}-storage`, {
      context, aws: ctx, corsOrigins: config.corsOrigins, deliveryRetentionDays: config.deliveryRetentionDays, uploadRetentionDays: config.uploadRetentionDays,
      intermediateRetentionDays: config.intermediateRetentionDays, apiState: args.apiState, formerParent, ...(t.bucket ? { transform: { bucket: t.bucket } } : {}),
    }, parent);
    const images = new StageImages(`${name}-images`, {
      context, stages: pipeline.stages, environment, root: args.root, formerParent,
      transform: { ...(t.repository ? { repository: t.repository } : {}), ...(t.image ? { image: t.image } : {}) },
    }, parent);
    const delivery = new JobDelivery(`${name}-delivery`, {
      context, aws: ctx, processing: storage.processing, deliveryOutput: pipeline.delivery.output, corsOrigins: config.corsOrigins,
      sesSender: config.sesSender, ...(config.sesDomain ? { sesDomain: config.sesDomain } : {}), formerParent, ...(t.distribution ? { transform: { distribution: t.distribution } } : {}),
    }, parent);
    const api = new JobApi(`${name}-api`, {
      context, corsOrigins: config.corsOrigins, rateLimit: config.apiRateLimit, logRetentionDays, formerParent, ...(t.api ? { transform: { api: t.api } } : {}),
    }, parent);

    // Known before the state machine exists (its name is fixed), so the functions can name it.
    const stateMachineName = context.prefix;
    const stateMachineArn = pulumi.interpolate`arn:${partition.partition}:states:${config.region}:${identity.accountId}:stateMachine:${stateMachineName}`;
    const functions = new JobFunctions(`${name}-functions`, {
      context, aws: ctx, pipeline, environment, config, root: args.root, entries: args.functions,
      uploads: storage.uploads, processing: storage.processing, statePrefixes: args.apiState.map((s) => s.prefix),
      stateMachineArn, apiBaseUrl: api.apiUrl, deliveryBaseUrl: delivery.deliveryBaseUrl,
      email: { identityArn: delivery.emailIdentity.arn, configurationSetArn: delivery.configurationSet.arn, configurationSetName: delivery.configurationSet.configurationSetName },
      logRetentionDays, ...(args.functionSettings ? { settings: args.functionSettings } : {}), formerParent, ...(t.function ? { transform: { function: t.function } } : {}),
    }, parent);
    const machine = new JobStateMachine(`${name}-state-machine`, {
      context, aws: ctx, pipeline, environment, config, stateMachineName, processingBucket: storage.processing.bucket.bucket,
      images: images.images, repositoryArns: Object.fromEntries(Object.entries(images.repositories).map(([stage, r]) => [stage, r.arn])), notifyFunctionArn: functions.notify.arn,
      logRetentionDays, formerParent, ...(t.stateMachine ? { transform: { stateMachine: t.stateMachine } } : {}),
    }, parent);
    api.route({ key: "POST /jobs", id: "post-jobs", fn: functions.startJob, integrationId: "start-job" });
    api.route({ key: "POST /start-job", id: "post-start-job", fn: functions.startJob, integrationId: "start-job" });
    api.route({ key: "GET /jobs/{id}", id: "get-job", fn: functions.jobStatus, integrationId: "job-status" });
    const alarms = new JobAlarms(`${name}-alarms`, {
      context, alarmEmail: config.alarmEmail, stateMachineArn: machine.stateMachine.arn, notifyFunctionName: functions.notify.name,
      startJobFunctionName: functions.startJob.name, jobStatusFunctionName: functions.jobStatus.name,
      formerParent, ...(t.alarm ? { transform: { alarm: t.alarm } } : {}),
    }, parent);

    this.uploadsBucket = storage.uploads.bucket;
    this.processingBucket = storage.processing.bucket;
    this.repositories = images.repositories;
    this.images = images.images;
    this.dkimRecords = this.operations(args, context, { machine, functions, delivery });
    this.sageMakerRoles = machine.sageMakerRoles;
    this.stateMachine = machine.stateMachine;
    this.definitionJson = machine.definitionJson;
    this.compileTarget = machine.compileTarget;
    this.functions = { startJob: functions.startJob, jobStatus: functions.jobStatus, notify: functions.notify, retentionTagger: functions.retentionTagger };
    this.api = api.api;
    this.apiUrl = api.apiUrl;
    this.distribution = delivery.distribution;
    this.deliveryBaseUrl = delivery.deliveryBaseUrl;
    this.alarmTopic = alarms.topic;
    this.registerOutputs({
      apiUrl: this.apiUrl, uploadsBucket: this.uploadsBucket.bucket, processingBucket: this.processingBucket.bucket, stateMachineArn: this.stateMachine.arn,
      deliveryBaseUrl: this.deliveryBaseUrl, alarmTopicArn: this.alarmTopic.arn, dkimRecords: this.dkimRecords,
    });
  }

  /** What no sub-component owns: the rule that mails endings no Catch sees, SageMaker's log groups, the DKIM records. */
  private operations(
    args: PipelineStackArgs,
    context: ComponentContext,
    parts: { machine: JobStateMachine; functions: JobFunctions; delivery: JobDelivery },
  ): pulumi.Output<DkimRecord[]> {
    const parent = { parent: this };
    const tags = { ...context.tags };
    executionEndedNotifications(context.name, {
      stateMachineArn: parts.machine.stateMachine.arn, notify: parts.functions.notify, tags,
      description: `${context.prefix}: tell the submitter when a job ends without its Catch (timeout, abort, runtime error)`,
    }, parent);
    sageMakerLogGroups(context.name, { pipeline: args.pipeline, retentionDays: args.config.sageMakerLogRetentionDays, tags }, parent);
    return dkimRecords(parts.delivery.emailIdentity, args.config.sesDomain);
  }
}
