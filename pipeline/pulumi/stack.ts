/**
 * `PipelineStack`: everything one environment of a compiled pipeline needs on AWS. Any
 * pipeline built with the DSL gets the same infrastructure: an image per stage, the job
 * buckets, least-privilege roles derived from the stages' inputs and outputs, the state
 * machine compiled for this environment, the job API, email, delivery links and alarms.
 *
 * Reading order: context → buckets → images → SageMaker role → functions (notify first, the
 * state machine invokes it) → state machine → API → delivery CDN → alarms.
 */
import { relative, resolve } from "node:path";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import { validateForEnvironment, type Pipeline } from "../define.js";
import type { EnvironmentConfig } from "../environment.js";
import { bundleHandler } from "./bundle.js";
import { deliveryTypesFunction } from "./delivery-types.js";
import {
  bucketPolicy,
  jobPrefixes,
  jobStatusPolicy,
  notifyPolicy,
  retentionTaggerPolicy,
  sageMakerExecutionPolicy,
  startJobPolicy,
  stateMachinePolicy,
  type AwsContext,
  type PolicyDocument,
} from "./policies.js";
import { INTERMEDIATE, INTERMEDIATE_FOLDERS_VARIABLE, RETENTION_TAG, intermediateFolders } from "./retention.js";
import { compileFor } from "./target.js";

/** Lambda entry files (relative to `root`), each exporting `handler`. */
export interface FunctionEntries {
  readonly startJob: string;
  readonly jobStatus: string;
  readonly notify: string;
}

export interface PipelineStackArgs {
  readonly pipeline: Pipeline;
  /** Environment (= Pulumi stack) name: prod, dev. */
  readonly environment: string;
  readonly config: EnvironmentConfig;
  /** Repository root: Docker build context and base of the function entries. */
  readonly root: string;
  readonly functions: FunctionEntries;
  /**
   * Folders of the processing bucket outside `jobs/` where the API keeps its own records
   * (idempotency records, daily counts), each with how long its objects live.
   */
  readonly apiState: readonly { readonly prefix: string; readonly expireAfterDays: number }[];
  /** Days CloudWatch keeps logs (default 90). */
  readonly logRetentionDays?: number;
}

/** Managed CloudFront policies (ids are fixed by AWS). */
const CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf";

/** Lambda refuses more than 4 KB of environment variables: fail at preview, naming the function. */
export function checkEnvironmentSize<T extends Record<string, string>>(functionName: string, vars: T): T {
  const bytes = Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > 4096) {
    throw new Error(`${functionName}: ${bytes} bytes of environment variables, above Lambda's 4 KB (fewer spaceport:apiKeys or shorter settings)`);
  }
  return vars;
}

const fromCwd = (path: string): string => relative(process.cwd(), path) || ".";
const json = (document: pulumi.Output<PolicyDocument>): pulumi.Output<string> => document.apply((d) => JSON.stringify(d));

export class PipelineStack extends pulumi.ComponentResource {
  readonly uploadsBucket: aws.s3.Bucket;
  readonly processingBucket: aws.s3.Bucket;
  readonly repositories: Record<string, aws.ecr.Repository>;
  readonly images: Record<string, pulumi.Output<string>>;
  readonly sageMakerRole: aws.iam.Role;
  readonly stateMachine: aws.sfn.StateMachine;
  readonly functions: Record<"startJob" | "jobStatus" | "notify" | "retentionTagger", aws.lambda.Function>;
  readonly api: aws.apigatewayv2.Api;
  readonly apiUrl: pulumi.Output<string>;
  readonly distribution: aws.cloudfront.Distribution;
  readonly deliveryBaseUrl: pulumi.Output<string>;
  readonly alarmTopic: aws.sns.Topic;
  /** The compile target the deployed ASL was compiled from (for the local runtime and reviews). */
  readonly compileTarget: pulumi.Output<string>;
  /** The deployed ASL, exactly. */
  readonly definitionJson: pulumi.Output<string>;

  constructor(name: string, args: PipelineStackArgs, opts?: pulumi.ComponentResourceOptions) {
    // Checked before anything is registered: quotas and overrides (naming the stage, so the
    // compile in an apply below cannot fail for the environment's sake), the SES sender.
    validateForEnvironment(args.pipeline, args.environment, args.config);
    if (args.config.sesDomain && !args.config.sesSender.toLowerCase().endsWith(`@${args.config.sesDomain}`)) {
      throw new Error(`spaceport:sesDomain: the sender ${args.config.sesSender} (spaceport:sesSender) is not an address at ${args.config.sesDomain}`);
    }
    super("spaceport:pipeline:PipelineStack", name, {}, opts);
    const { pipeline, environment, config } = args;
    const parent = { parent: this };
    const prefix = `${pipeline.name}-${environment}`;
    const retentionDays = args.logRetentionDays ?? 90;
    const tags = { "spaceport:pipeline": pipeline.name, "spaceport:environment": environment };
    const prefixes = jobPrefixes(pipeline);

    // ---- Context -------------------------------------------------------------------------
    const identity = aws.getCallerIdentityOutput({}, parent);
    const partition = aws.getPartitionOutput({}, parent);
    const ctx: pulumi.Output<AwsContext> = pulumi
      .all([identity.accountId, partition.partition])
      .apply(([accountId, part]) => ({ accountId, partition: part, region: config.region }));

    // ---- Buckets ---------------------------------------------------------------------------
    const bucket = (id: string, cors: aws.types.input.s3.BucketCorsConfigurationCorsRule[], lifecycle: aws.types.input.s3.BucketLifecycleConfigurationRule[]) => {
      const b = new aws.s3.Bucket(`${name}-${id}`, { forceDestroy: false, tags }, parent);
      new aws.s3.BucketOwnershipControls(`${name}-${id}-ownership`, { bucket: b.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
      const block = new aws.s3.BucketPublicAccessBlock(
        `${name}-${id}-public-access`,
        { bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
        parent,
      );
      new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-${id}-encryption`,
        { bucket: b.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
        parent,
      );
      new aws.s3.BucketCorsConfiguration(`${name}-${id}-cors`, { bucket: b.id, corsRules: cors }, parent);
      new aws.s3.BucketLifecycleConfiguration(`${name}-${id}-lifecycle`, { bucket: b.id, rules: lifecycle }, parent);
      return { bucket: b, block };
    };
    const abortUploads: aws.types.input.s3.BucketLifecycleConfigurationRule = {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: { prefix: "" },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 2 },
    };
    const uploads = bucket(
      "uploads",
      // The website uploads ZIPs straight from the browser (presigned PUT).
      [{ allowedMethods: ["PUT", "POST", "GET", "HEAD"], allowedOrigins: [...config.corsOrigins], allowedHeaders: ["*"], exposeHeaders: ["ETag"], maxAgeSeconds: 3600 }],
      [
        // Submitted ZIPs are copied into the job (jobs/<id>/input/) at submission; the upload is kept as long as deliveries.
        { id: "expire-uploads", status: "Enabled", filter: { prefix: "" }, expiration: { days: config.deliveryRetentionDays } },
        abortUploads,
      ],
    );
    const processing = bucket(
      "processing",
      // Viewers elsewhere (the website) load scene files; CloudFront forwards Origin (CORS-S3Origin).
      [{ allowedMethods: ["GET", "HEAD"], allowedOrigins: [...config.corsOrigins], allowedHeaders: ["*"], exposeHeaders: ["ETag", "Content-Length", "Content-Range"], maxAgeSeconds: 86_400 }],
      [
        // See retention.ts: intermediates are tagged by the retention tagger and expire early ...
        {
          id: "expire-intermediates",
          status: "Enabled",
          filter: { tag: { key: RETENTION_TAG, value: INTERMEDIATE } },
          expiration: { days: Math.min(config.intermediateRetentionDays, config.deliveryRetentionDays) },
        },
        // ... everything of a job (inputs and deliveries included) lives deliveryRetentionDays (>= 7), never less.
        { id: "expire-jobs", status: "Enabled", filter: { prefix: "jobs/" }, expiration: { days: config.deliveryRetentionDays } },
        ...args.apiState.map((state) => ({
          id: `expire-${state.prefix.replace(/[^a-z0-9]+/gi, "-").replace(/-+$/, "")}`,
          status: "Enabled",
          filter: { prefix: state.prefix },
          expiration: { days: state.expireAfterDays },
        })),
        abortUploads,
      ],
    );
    this.uploadsBucket = uploads.bucket;
    this.processingBucket = processing.bucket;

    // ---- Images: one ECR repository and image per stage -------------------------------------
    this.repositories = {};
    this.images = {};
    // Push credentials for the account's registry (short-lived; fetched at each run).
    const registryAuth = aws.ecr.getAuthorizationTokenOutput({}, parent);
    for (const stage of pipeline.stages) {
      const repo = new aws.ecr.Repository(
        `${name}-${stage.name}`,
        {
          imageScanningConfiguration: { scanOnPush: true },
          imageTagMutability: "MUTABLE",
          encryptionConfigurations: [{ encryptionType: "AES256" }],
          forceDelete: false,
          tags,
        },
        parent,
      );
      new aws.ecr.LifecyclePolicy(
        `${name}-${stage.name}-lifecycle`,
        {
          repository: repo.name,
          policy: JSON.stringify({
            rules: [{ rulePriority: 1, description: "keep the last 10 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }],
          }),
        },
        parent,
      );
      // awsx.ecr.Image (v3) is docker-build underneath but exposes neither the manifest media
      // type nor attestations; docker-build directly makes both explicit.
      const tag = pulumi.interpolate`${repo.repositoryUrl}:${environment}`;
      const image = new dockerBuild.Image(
        `${name}-${stage.name}-image`,
        {
          // Relative to the directory Pulumi runs the program in (the project root), so the
          // inputs do not change between machines.
          context: { location: fromCwd(resolve(args.root, stage.image.context)) },
          dockerfile: { location: fromCwd(resolve(args.root, stage.image.dockerfile)) },
          platforms: [stage.image.platform as dockerBuild.Platform],
          tags: [tag],
          // A plain Docker v2 schema-2 manifest (not OCI, not an index): SageMaker has been seen to
          // reject attestation indexes. docker-build attaches no provenance/SBOM attestations
          // unless asked, and nothing here asks.
          exports: [{ registry: { ociMediaTypes: false, push: true } }],
          push: false, // the registry export above pushes; `push: true` would add a second, default export
          registries: [{ address: repo.repositoryUrl, username: registryAuth.userName, password: pulumi.secret(registryAuth.password) }],
          cacheFrom: [{ registry: { ref: tag } }],
          cacheTo: [{ inline: {} }],
        },
        parent,
      );
      this.repositories[stage.name] = repo;
      // `<repository>@sha256:<digest>`: a new image means a new state machine definition.
      this.images[stage.name] = pulumi.interpolate`${repo.repositoryUrl}@${image.digest}`;
    }

    // ---- SageMaker execution role ----------------------------------------------------------------
    this.sageMakerRole = new aws.iam.Role(
      `${name}-sagemaker`,
      {
        description: `SageMaker jobs of ${prefix}`,
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: "sagemaker.amazonaws.com" }, Action: "sts:AssumeRole" }],
        }),
        tags,
      },
      parent,
    );
    const sageMakerPolicy = new aws.iam.RolePolicy(
      `${name}-sagemaker-policy`,
      {
        role: this.sageMakerRole.id,
        policy: json(
          pulumi
            .all([ctx, processing.bucket.bucket, pulumi.all(Object.values(this.repositories).map((r) => r.arn))])
            .apply(([c, b, repositoryArns]) => sageMakerExecutionPolicy({ ctx: c, pipeline, bucket: b, repositoryArns })),
        ),
      },
      parent,
    );

    // ---- SES ---------------------------------------------------------------------------------------
    const configurationSet = new aws.sesv2.ConfigurationSet(
      `${name}-email`,
      {
        configurationSetName: prefix,
        reputationOptions: { reputationMetricsEnabled: true },
        sendingOptions: { sendingEnabled: true },
        suppressionOptions: { suppressedReasons: ["BOUNCE", "COMPLAINT"] },
        tags,
      },
      parent,
    );
    const emailIdentity = new aws.sesv2.EmailIdentity(
      `${name}-sender`,
      { emailIdentity: config.sesDomain ?? config.sesSender, configurationSetName: configurationSet.configurationSetName, tags },
      parent,
    );

    // ---- Delivery links: CloudFront with Origin Access Control ------------------------------------
    const oac = new aws.cloudfront.OriginAccessControl(
      `${name}-oac`,
      { name: `${prefix}-deliveries`, originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" },
      parent,
    );
    const corsHeaders = new aws.cloudfront.ResponseHeadersPolicy(
      `${name}-viewer-cors`,
      {
        name: `${prefix}-viewer-cors`,
        corsConfig: {
          accessControlAllowCredentials: false,
          accessControlAllowHeaders: { items: ["*"] },
          accessControlAllowMethods: { items: ["GET", "HEAD", "OPTIONS"] },
          accessControlAllowOrigins: { items: [...config.corsOrigins] },
          accessControlExposeHeaders: { items: ["ETag", "Content-Length", "Content-Range"] },
          accessControlMaxAgeSec: 86_400,
          originOverride: true,
        },
        securityHeadersConfig: {
          contentTypeOptions: { override: true },
          strictTransportSecurity: { accessControlMaxAgeSec: 31_536_000, includeSubdomains: true, override: true },
        },
      },
      parent,
    );
    const deliveryTypes = deliveryTypesFunction(`${name}-delivery-types`, `${prefix}-delivery-types`, parent);
    const originId = "processing";
    const deliveryBehavior = {
      targetOriginId: originId,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD", "OPTIONS"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
      cachePolicyId: CACHING_OPTIMIZED,
      originRequestPolicyId: CORS_S3_ORIGIN,
      responseHeadersPolicyId: corsHeaders.id,
      functionAssociations: [{ eventType: "viewer-response", functionArn: deliveryTypes.arn }],
    };
    this.distribution = new aws.cloudfront.Distribution(
      `${name}-deliveries`,
      {
        enabled: true,
        comment: `${prefix} deliveries (jobs/*/${prefixes.delivered}/*)`,
        isIpv6Enabled: true,
        httpVersion: "http2and3",
        priceClass: "PriceClass_100",
        origins: [{ originId, domainName: processing.bucket.bucketRegionalDomainName, originAccessControlId: oac.id }],
        // Only deliveries are served: the bucket policy lets CloudFront read `jobs/*/<delivery>/*`
        // and nothing else, so any other path is a 403 from S3 whatever the behavior.
        orderedCacheBehaviors: [{ pathPattern: `jobs/*/${prefixes.delivered}/*`, ...deliveryBehavior }],
        defaultCacheBehavior: deliveryBehavior,
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
        tags,
      },
      parent,
    );
    this.deliveryBaseUrl = pulumi.interpolate`https://${this.distribution.domainName}`;

    // Bucket policies: TLS only; CloudFront may read deliveries of the processing bucket.
    new aws.s3.BucketPolicy(
      `${name}-uploads-policy`,
      { bucket: uploads.bucket.id, policy: json(pulumi.all([ctx, uploads.bucket.bucket]).apply(([c, b]) => bucketPolicy({ ctx: c, bucket: b }))) },
      { parent: this, dependsOn: [uploads.block] },
    );
    new aws.s3.BucketPolicy(
      `${name}-processing-policy`,
      {
        bucket: processing.bucket.id,
        policy: json(
          pulumi
            .all([ctx, processing.bucket.bucket, this.distribution.arn])
            .apply(([c, b, distributionArn]) =>
              bucketPolicy({ ctx: c, bucket: b, cloudFront: { distributionArn, deliveryPrefix: prefixes.delivered } }),
            ),
        ),
      },
      { parent: this, dependsOn: [processing.block] },
    );

    // ---- Functions -----------------------------------------------------------------------------------
    const api = new aws.apigatewayv2.Api(
      `${name}-api`,
      {
        protocolType: "HTTP",
        description: `${prefix} job API`,
        corsConfiguration: {
          allowOrigins: [...config.corsOrigins],
          allowMethods: ["GET", "POST", "OPTIONS"],
          allowHeaders: ["content-type", "authorization", "x-api-key", "idempotency-key"],
          maxAge: 3600,
        },
        tags,
      },
      parent,
    );
    this.api = api;
    this.apiUrl = api.apiEndpoint;

    const functionRole = (id: string) =>
      new aws.iam.Role(
        `${name}-${id}-role`,
        {
          description: `${prefix} ${id} function`,
          assumeRolePolicy: JSON.stringify({
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
          }),
          tags,
        },
        parent,
      );
    const makeFunction = (
      id: string,
      entry: string,
      role: aws.iam.Role,
      policy: pulumi.Output<PolicyDocument>,
      environment: pulumi.Input<Record<string, pulumi.Input<string>>>,
      settings: { timeout: number; memorySize: number; description: string },
    ) => {
      const functionName = `${prefix}-${id}`;
      const bundle = bundleHandler(args.root, entry);
      const rolePolicy = new aws.iam.RolePolicy(`${name}-${id}-policy`, { role: role.id, policy: json(policy) }, parent);
      const logGroup = new aws.cloudwatch.LogGroup(`${name}-${id}-logs`, { name: `/aws/lambda/${functionName}`, retentionInDays: retentionDays, tags }, parent);
      return new aws.lambda.Function(
        `${name}-${id}`,
        {
          name: functionName,
          description: settings.description,
          runtime: "nodejs22.x",
          architectures: ["arm64"],
          handler: "index.handler",
          code: new pulumi.asset.AssetArchive({ "index.mjs": new pulumi.asset.StringAsset(bundle.code) }),
          sourceCodeHash: Buffer.from(bundle.sha256, "hex").toString("base64"),
          role: role.arn,
          timeout: settings.timeout,
          memorySize: settings.memorySize,
          tracingConfig: { mode: "Active" },
          environment: { variables: pulumi.output(environment).apply((vars) => checkEnvironmentSize(functionName, vars)) },
          tags: { ...tags, "spaceport:entry": entry },
        },
        { parent: this, dependsOn: [rolePolicy, logGroup] },
      );
    };
    const functionName = (id: string) => `${prefix}-${id}`;

    // What every handler knows about its deployment (functions/config.ts reads these).
    const commonEnvironment = {
      SPACEPORT_ENVIRONMENT: environment,
      // The keys travel once, in SPACEPORT_API_KEYS (Lambda allows 4 KB of variables in all).
      SPACEPORT_CONFIG: JSON.stringify({ ...config, apiKeys: undefined }),
      SPACEPORT_API_KEYS: JSON.stringify(config.apiKeys),
      SPACEPORT_PROCESSING_BUCKET: processing.bucket.bucket,
      SPACEPORT_UPLOADS_BUCKET: uploads.bucket.bucket,
      SPACEPORT_API_BASE_URL: api.apiEndpoint,
      SPACEPORT_DELIVERY_BASE_URL: this.deliveryBaseUrl,
    };
    // Known before the state machine exists (its name is fixed), so notify can read its executions.
    const stateMachineName = prefix;
    const stateMachineArn = pulumi.interpolate`arn:${partition.partition}:states:${config.region}:${identity.accountId}:stateMachine:${stateMachineName}`;

    const notifyRole = functionRole("notify");
    const notify = makeFunction(
      "notify",
      args.functions.notify,
      notifyRole,
      pulumi
        .all([ctx, processing.bucket.bucket, emailIdentity.arn, configurationSet.arn, stateMachineArn])
        .apply(([c, b, identityArn, configurationSetArn, machineArn]) =>
          notifyPolicy({
            ctx: c,
            functionName: functionName("notify"),
            processingBucket: b,
            stateMachineArn: machineArn,
            pipeline,
            identityArn,
            configurationSetArn,
          }),
        ),
      {
        ...commonEnvironment,
        SPACEPORT_SES_CONFIGURATION_SET: configurationSet.configurationSetName,
        SPACEPORT_STATE_MACHINE_ARN: stateMachineArn,
      },
      { timeout: 60, memorySize: 512, description: "Emails the job's result (SES v2); invoked by the state machine" },
    );

    // ---- State machine -------------------------------------------------------------------------------
    const target = pulumi
      .all([processing.bucket.bucket, this.sageMakerRole.arn, pulumi.all(this.images), notify.arn])
      .apply(([b, roleArn, images, notifyArn]) => ({ bucket: b, roleArn, images, notifyFunction: notifyArn }));
    const compiled = target.apply((names) => compileFor(pipeline, environment, config, names));
    this.definitionJson = compiled.apply((c) => c.definitionJson);
    this.compileTarget = target.apply((names) => JSON.stringify({ environment, names }));

    const stateMachineRole = new aws.iam.Role(
      `${name}-states`,
      {
        description: `${prefix} state machine`,
        assumeRolePolicy: identity.accountId.apply((accountId) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { Service: "states.amazonaws.com" },
                Action: "sts:AssumeRole",
                Condition: { StringEquals: { "aws:SourceAccount": accountId } },
              },
            ],
          }),
        ),
        tags,
      },
      parent,
    );
    const stateMachinePolicyResource = new aws.iam.RolePolicy(
      `${name}-states-policy`,
      {
        role: stateMachineRole.id,
        policy: json(
          pulumi
            .all([ctx, this.sageMakerRole.arn, notify.arn])
            .apply(([c, sageMakerRoleArn, notifyFunctionArn]) => stateMachinePolicy({ ctx: c, pipeline, sageMakerRoleArn, notifyFunctionArn })),
        ),
      },
      parent,
    );
    const stateMachineLogs = new aws.cloudwatch.LogGroup(
      `${name}-states-logs`,
      { name: `/aws/vendedlogs/states/${stateMachineName}`, retentionInDays: retentionDays, tags },
      parent,
    );
    this.stateMachine = new aws.sfn.StateMachine(
      `${name}-states`,
      {
        name: stateMachineName,
        type: "STANDARD",
        roleArn: stateMachineRole.arn,
        definition: this.definitionJson,
        // Execution data holds submitters' email addresses: log events and errors, not data.
        loggingConfiguration: { level: "ALL", includeExecutionData: false, logDestination: pulumi.interpolate`${stateMachineLogs.arn}:*` },
        tracingConfiguration: { enabled: true },
        tags,
      },
      // The role must hold its permissions before Step Functions checks logging and the tasks.
      { parent: this, dependsOn: [stateMachinePolicyResource, sageMakerPolicy] },
    );

    // ---- API functions -------------------------------------------------------------------------------
    const statePrefixes = args.apiState.map((state) => state.prefix);
    const startJob = makeFunction(
      "start-job",
      args.functions.startJob,
      functionRole("start-job"),
      pulumi
        .all([ctx, processing.bucket.bucket, uploads.bucket.bucket, this.stateMachine.arn])
        .apply(([c, b, u, stateMachineArn]) =>
          startJobPolicy({
            ctx: c,
            functionName: functionName("start-job"),
            processingBucket: b,
            uploadsBucket: u,
            allowedInputBuckets: config.allowedInputBuckets,
            statePrefixes,
            stateMachineArn,
          }),
        ),
      { ...commonEnvironment, SPACEPORT_STATE_MACHINE_ARN: this.stateMachine.arn },
      // HTTP APIs answer within 30 s; a large copy may finish after that, and a retry with the
      // same Idempotency-Key then finds the job already started.
      { timeout: 120, memorySize: 512, description: "POST /jobs, POST /start-job: validates and starts a job" },
    );
    const jobStatus = makeFunction(
      "job-status",
      args.functions.jobStatus,
      functionRole("job-status"),
      pulumi
        .all([ctx, processing.bucket.bucket, this.stateMachine.arn])
        .apply(([c, b, stateMachineArn]) =>
          jobStatusPolicy({ ctx: c, functionName: functionName("job-status"), processingBucket: b, stateMachineArn, pipeline }),
        ),
      { ...commonEnvironment, SPACEPORT_STATE_MACHINE_ARN: this.stateMachine.arn },
      { timeout: 15, memorySize: 256, description: "GET /jobs/{id}: state, stage, progress, links" },
    );

    // ---- Retention tagger (see retention.ts) ------------------------------------------------------------
    const taggerEntry = "pipeline/pulumi/handlers/retention-tagger.ts";
    const tagger = makeFunction(
      "retention-tagger",
      taggerEntry,
      functionRole("retention-tagger"),
      pulumi
        .all([ctx, processing.bucket.bucket])
        .apply(([c, b]) => retentionTaggerPolicy({ ctx: c, functionName: functionName("retention-tagger"), processingBucket: b, pipeline })),
      { [INTERMEDIATE_FOLDERS_VARIABLE]: intermediateFolders(pipeline).join(",") },
      { timeout: 30, memorySize: 128, description: "Tags intermediate job artifacts for early expiry" },
    );
    const taggerPermission = new aws.lambda.Permission(
      `${name}-retention-tagger-s3`,
      {
        action: "lambda:InvokeFunction",
        function: tagger.name,
        principal: "s3.amazonaws.com",
        sourceArn: processing.bucket.arn,
        sourceAccount: identity.accountId,
      },
      parent,
    );
    new aws.s3.BucketNotification(
      `${name}-processing-events`,
      { bucket: processing.bucket.id, lambdaFunctions: [{ lambdaFunctionArn: tagger.arn, events: ["s3:ObjectCreated:*"], filterPrefix: "jobs/" }] },
      { parent: this, dependsOn: [taggerPermission] },
    );
    this.functions = { startJob, jobStatus, notify, retentionTagger: tagger };

    // ---- HTTP API: routes, throttling, access logs -----------------------------------------------------------
    const routes: { key: string; fn: aws.lambda.Function; id: string }[] = [
      { key: "POST /jobs", fn: startJob, id: "post-jobs" },
      { key: "POST /start-job", fn: startJob, id: "post-start-job" },
      { key: "GET /jobs/{id}", fn: jobStatus, id: "get-job" },
    ];
    const integrations = new Map<aws.lambda.Function, aws.apigatewayv2.Integration>();
    for (const [fn, id] of [[startJob, "start-job"], [jobStatus, "job-status"]] as const) {
      integrations.set(
        fn,
        new aws.apigatewayv2.Integration(
          `${name}-${id}-integration`,
          { apiId: api.id, integrationType: "AWS_PROXY", integrationUri: fn.invokeArn, payloadFormatVersion: "2.0", timeoutMilliseconds: 30_000 },
          parent,
        ),
      );
    }
    for (const route of routes) {
      const integration = integrations.get(route.fn)!;
      new aws.apigatewayv2.Route(
        `${name}-${route.id}`,
        // Auth is the handlers' API-key check (functions/auth.ts), the same code as the local runtime.
        { apiId: api.id, routeKey: route.key, target: pulumi.interpolate`integrations/${integration.id}`, authorizationType: "NONE" },
        parent,
      );
      const [method, path] = route.key.split(" ") as [string, string];
      new aws.lambda.Permission(
        `${name}-${route.id}-invoke`,
        {
          action: "lambda:InvokeFunction",
          function: route.fn.name,
          principal: "apigateway.amazonaws.com",
          sourceArn: pulumi.interpolate`${api.executionArn}/*/${method}${path.replace("{id}", "*")}`,
        },
        parent,
      );
    }
    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-api-logs`, { name: `/aws/apigateway/${prefix}`, retentionInDays: retentionDays, tags }, parent);
    new aws.apigatewayv2.Stage(
      `${name}-api-stage`,
      {
        apiId: api.id,
        name: "$default",
        autoDeploy: true,
        // Whole-API throttling; the per-client limits (jobs per day) are the handlers' (functions/rate-limit.ts).
        defaultRouteSettings: {
          throttlingRateLimit: config.apiRateLimit.ratePerSecond,
          throttlingBurstLimit: config.apiRateLimit.burst,
        },
        accessLogSettings: {
          destinationArn: accessLogs.arn,
          // No bodies, no headers: nothing personal in access logs.
          format: JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            time: "$context.requestTime",
            route: "$context.routeKey",
            status: "$context.status",
            latency: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
          }),
        },
        tags,
      },
      parent,
    );

    // ---- Alarms ----------------------------------------------------------------------------------------------
    this.alarmTopic = new aws.sns.Topic(`${name}-alarms`, { displayName: `${prefix} alarms`, tags }, parent);
    new aws.sns.TopicSubscription(`${name}-alarm-email`, { topic: this.alarmTopic.arn, protocol: "email", endpoint: config.alarmEmail }, parent);
    const alarm = (id: string, description: string, namespace: string, metricName: string, dimensions: Record<string, pulumi.Input<string>>) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${id}`,
        {
          alarmDescription: description,
          namespace,
          metricName,
          dimensions,
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
          treatMissingData: "notBreaching",
          alarmActions: [this.alarmTopic.arn],
          okActions: [this.alarmTopic.arn],
          tags,
        },
        parent,
      );
    alarm("executions-failed", `${prefix}: a job failed`, "AWS/States", "ExecutionsFailed", { StateMachineArn: this.stateMachine.arn });
    alarm("executions-timed-out", `${prefix}: a job timed out`, "AWS/States", "ExecutionsTimedOut", { StateMachineArn: this.stateMachine.arn });
    alarm("notify-errors", `${prefix}: the notify function failed (an email may not have been sent)`, "AWS/Lambda", "Errors", { FunctionName: notify.name });

    this.registerOutputs({
      apiUrl: this.apiUrl,
      uploadsBucket: uploads.bucket.bucket,
      processingBucket: processing.bucket.bucket,
      stateMachineArn: this.stateMachine.arn,
      deliveryBaseUrl: this.deliveryBaseUrl,
      alarmTopicArn: this.alarmTopic.arn,
    });
  }
}
