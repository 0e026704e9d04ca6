/**
 * `PipelineStack`: everything one environment of a compiled pipeline needs on AWS. Any
 * pipeline built with the DSL gets the same infrastructure, made of sub-components (each a
 * `ComponentResource` with documented args and a `transform` hook for its main resources):
 *
 *   JobStorage       the uploads, processing and page buckets    components/storage.ts
 *   StageImages      an ECR repository and image per stage       components/images.ts
 *   JobDelivery      the result email (SES), delivery links and  components/delivery.ts
 *                    the page on CloudFront (/app/*)
 *   JobSignIn        the page's Cognito user pool and client     components/sign-in.ts
 *   JobApi           the HTTP API, JWT authorizer, throttling    components/api.ts
 *   JobFunctions     notify, start-job, job-status, uploads,     components/functions.ts
 *                    cancel, retry, tagger
 *   JobPage          the page's files and its config.json        components/page.ts
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
import { earlyRuns } from "../early.js";
import { JobFunctions, type FunctionEntries } from "./components/functions.js";
import { StageImages } from "./components/images.js";
import { JobStateMachine } from "./components/state-machine.js";
import { JobPage, PAGE_PATH } from "./components/page.js";
import { JobSignIn } from "./components/sign-in.js";
import { JobStorage } from "./components/storage.js";
import { stackRoutes } from "./routes.js";

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
   * (idempotency records, daily counts, job lists, upload sessions), each with how long its
   * objects live and which function writes them (start-job unless `writer` says uploads).
   */
  readonly apiState: readonly { readonly prefix: string; readonly expireAfterDays: number; readonly writer?: "startJob" | "uploads" }[];
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

/** One integration per function, shared by its routes (the first three names are the original ones). */
const INTEGRATION_IDS: Readonly<Record<ReturnType<typeof stackRoutes>[number]["fn"], string>> = {
  startJob: "start-job", jobStatus: "job-status", uploads: "uploads", cancel: "cancel", retry: "retry",
};

export class PipelineStack extends pulumi.ComponentResource {
  readonly uploadsBucket: aws.s3.Bucket;
  readonly processingBucket: aws.s3.Bucket;
  readonly repositories: Record<string, aws.ecr.Repository>;
  readonly images: Record<string, pulumi.Output<string>>;
  /** SageMaker execution role per stage. */
  readonly sageMakerRoles: Record<string, aws.iam.Role>;
  readonly stateMachine: aws.sfn.StateMachine;
  readonly functions: Record<"startJob" | "jobStatus" | "notify" | "retentionTagger" | "uploads" | "cancel" | "retry", aws.lambda.Function>;
  readonly api: aws.apigatewayv2.Api;
  readonly apiUrl: pulumi.Output<string>;
  readonly distribution: aws.cloudfront.Distribution;
  readonly deliveryBaseUrl: pulumi.Output<string>;
  readonly alarmTopic: aws.sns.Topic;
  /** The operator's page: `https://<distribution>/app/`. */
  readonly pageUrl: pulumi.Output<string>;
  readonly signIn: JobSignIn;
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
      context, aws: ctx, processing: storage.processing, page: storage.page, deliveryOutput: pipeline.delivery.output, replacedInPlace: earlyRuns(pipeline).length > 0, corsOrigins: config.corsOrigins,
      sesSender: config.sesSender, ...(config.sesDomain ? { sesDomain: config.sesDomain } : {}), formerParent, ...(t.distribution ? { transform: { distribution: t.distribution } } : {}),
    }, parent);
    this.pageUrl = pulumi.interpolate`${delivery.deliveryBaseUrl}${PAGE_PATH}`;
    const { api, signIn } = this.pageAndApi(args, { context, ctx, storage, delivery, logRetentionDays });
    this.signIn = signIn;

    // Known before the state machine exists (its name is fixed), so the functions can name it.
    const stateMachineName = context.prefix;
    const stateMachineArn = pulumi.interpolate`arn:${partition.partition}:states:${config.region}:${identity.accountId}:stateMachine:${stateMachineName}`;
    const functions = new JobFunctions(`${name}-functions`, {
      context, aws: ctx, pipeline, environment, config, root: args.root, entries: args.functions,
      uploads: storage.uploads, processing: storage.processing, statePrefixes: args.apiState.filter((s) => s.writer !== "uploads").map((s) => s.prefix),
      stateMachineArn, apiBaseUrl: api.apiUrl, deliveryBaseUrl: delivery.deliveryBaseUrl, appUrl: this.pageUrl,
      email: { identityArn: delivery.emailIdentity.arn, configurationSetArn: delivery.configurationSet.arn, configurationSetName: delivery.configurationSet.configurationSetName },
      logRetentionDays, ...(args.functionSettings ? { settings: args.functionSettings } : {}), formerParent, ...(t.function ? { transform: { function: t.function } } : {}),
    }, parent);
    const machine = new JobStateMachine(`${name}-state-machine`, {
      context, aws: ctx, pipeline, environment, config, stateMachineName, processingBucket: storage.processing.bucket.bucket,
      images: images.images, repositoryArns: Object.fromEntries(Object.entries(images.repositories).map(([stage, r]) => [stage, r.arn])), notifyFunctionArn: functions.notify.arn,
      logRetentionDays, formerParent, ...(t.stateMachine ? { transform: { stateMachine: t.stateMachine } } : {}),
    }, parent);
    for (const route of stackRoutes()) api.route({ ...route, fn: functions[route.fn], integrationId: INTEGRATION_IDS[route.fn] });
    const alarms = new JobAlarms(`${name}-alarms`, {
      context, alarmEmail: config.alarmEmail, stateMachineArn: machine.stateMachine.arn, notifyFunctionName: functions.notify.name,
      startJobFunctionName: functions.startJob.name, jobStatusFunctionName: functions.jobStatus.name,
      pageFunctionNames: { uploads: functions.uploads.name, cancel: functions.cancel.name, retry: functions.retry.name },
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
    this.functions = {
      startJob: functions.startJob, jobStatus: functions.jobStatus, notify: functions.notify, retentionTagger: functions.retentionTagger,
      uploads: functions.uploads, cancel: functions.cancel, retry: functions.retry,
    };
    this.api = api.api;
    this.apiUrl = api.apiUrl;
    this.distribution = delivery.distribution;
    this.deliveryBaseUrl = delivery.deliveryBaseUrl;
    this.alarmTopic = alarms.topic;
    this.registerOutputs({
      apiUrl: this.apiUrl, uploadsBucket: this.uploadsBucket.bucket, processingBucket: this.processingBucket.bucket, stateMachineArn: this.stateMachine.arn,
      deliveryBaseUrl: this.deliveryBaseUrl, alarmTopicArn: this.alarmTopic.arn, dkimRecords: this.dkimRecords, pageUrl: this.pageUrl,
      userPoolId: this.signIn.userPool.id, pageClientId: this.signIn.client.id, signInUrl: this.signIn.hostedUiUrl,
    });
  }

  /**
   * The page's way in: the uploads bucket takes parts from its origin, its Cognito sign-in, the
   * API (CORS for the page, the JWT authorizer for its users) and its files with their config.json.
   */
  private pageAndApi(
    args: PipelineStackArgs,
    parts: { context: ComponentContext; ctx: pulumi.Output<AwsContext>; storage: JobStorage; delivery: JobDelivery; logRetentionDays: number },
  ): { api: JobApi; signIn: JobSignIn } {
    const { context, ctx, storage, delivery } = parts;
    const { name } = context;
    const { config } = args;
    const parent = { parent: this };
    const formerParent = this;
    storage.allowUploadsFrom(delivery.deliveryBaseUrl);
    const signIn = new JobSignIn(`${name}-sign-in`, { context, aws: ctx, pageUrl: this.pageUrl, formerParent }, parent);
    const api = new JobApi(`${name}-api`, {
      context, corsOrigins: delivery.deliveryBaseUrl.apply((origin) => [origin, ...config.corsOrigins]), signIn: { issuer: signIn.issuer, clientId: signIn.client.id },
      rateLimit: config.apiRateLimit, logRetentionDays: parts.logRetentionDays, formerParent, ...(args.transform?.api ? { transform: { api: args.transform.api } } : {}),
    }, parent);
    new JobPage(`${name}-page`, {
      context, aws: ctx, bucket: storage.page, distributionArn: delivery.distribution.arn, formerParent,
      config: pulumi.all([api.apiUrl, signIn.hostedUiUrl, signIn.client.id, this.pageUrl]).apply(([apiUrl, domain, clientId, redirectUri]) => ({
        api: `${apiUrl}/me`, auth: { kind: "cognito" as const, domain, clientId, redirectUri },
      })),
    }, parent);
    return { api, signIn };
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
