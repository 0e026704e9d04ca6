/**
 * `JobFunctions`: the Lambda functions of a pipeline, each an esbuild bundle of its entry with
 * its own role (least privilege, policies.ts and control-policies.ts), log group and environment:
 * notify (invoked by the state machine); start-job, job-status, uploads, cancel and retry
 * (behind the API); and the retention tagger (subscribed to the processing bucket, see retention.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Pipeline } from "../../define.js";
import type { EnvironmentConfig } from "../../environment.js";
import { JOBS_PREFIX, TAGS } from "../../layout.js";
import { bundleHandler } from "../bundle.js";
import { UPLOAD_OBJECT_PREFIX, UPLOAD_RECORD_PREFIX } from "../../../functions/uploads/handler.js";
import { cancelPolicy, retryPolicy, uploadsPolicy } from "../control-policies.js";
import { jobStatusPolicy, notifyPolicy, retentionTaggerPolicy, startJobPolicy, type AwsContext, type PolicyDocument } from "../policies.js";
import { resolveFunctionSettings, type FunctionId, type FunctionSettings } from "../function-settings.js";
import { INTERMEDIATE_FOLDERS_VARIABLE, intermediateFolders } from "../retention.js";
import { assumeRolePolicy, childOptions, json, transformed, type ComponentContext, type Transform } from "./component.js";
import type { StoredBucket } from "./storage.js";

/** Lambda entry files (relative to the repository root), each exporting `handler`. */
export interface FunctionEntries {
  readonly startJob: string;
  readonly jobStatus: string;
  readonly notify: string;
  readonly uploads: string;
  readonly cancel: string;
  readonly retry: string;
}

export interface JobFunctionsArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  readonly pipeline: Pipeline;
  readonly environment: string;
  readonly config: EnvironmentConfig;
  /** Repository root: base of the entries. */
  readonly root: string;
  readonly entries: FunctionEntries;
  readonly uploads: StoredBucket;
  readonly processing: StoredBucket;
  /** Prefixes of the processing bucket where start-job keeps its records. */
  readonly statePrefixes: readonly string[];
  /** The state machine's ARN (its name is fixed, so it is known before it exists). */
  readonly stateMachineArn: pulumi.Input<string>;
  readonly apiBaseUrl: pulumi.Input<string>;
  readonly deliveryBaseUrl: pulumi.Input<string>;
  /** The operator's page (failure emails link to its Retry). */
  readonly appUrl: pulumi.Input<string>;
  readonly email: { readonly identityArn: pulumi.Input<string>; readonly configurationSetArn: pulumi.Input<string>; readonly configurationSetName: pulumi.Input<string> };
  /** Days CloudWatch keeps the functions' logs. */
  readonly logRetentionDays: number;
  /** Memory and timeout per function; defaults in function-settings.ts `DEFAULT_FUNCTION_SETTINGS`. */
  readonly settings?: Partial<Record<FunctionId, Partial<FunctionSettings>>>;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    /** Each function (`<name>-notify`, `-start-job`, `-job-status`, `-retention-tagger`). */
    readonly function?: Transform<aws.lambda.FunctionArgs>;
  };
}

/** Where the retention tagger's entry is: part of this package, whatever the pipeline. */
const TAGGER_ENTRY = "pipeline/pulumi/handlers/retention-tagger.ts";

/** Lambda refuses more than 4 KB of environment variables: fail at preview, naming the function. */
export function checkEnvironmentSize<T extends Record<string, string>>(functionName: string, vars: T): T {
  const bytes = Object.entries(vars).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  if (bytes > 4096) {
    throw new Error(`${functionName}: ${bytes} bytes of environment variables, above Lambda's 4 KB (fewer spaceport:apiKeys or shorter settings)`);
  }
  return vars;
}

export class JobFunctions extends pulumi.ComponentResource {
  readonly notify: aws.lambda.Function;
  readonly startJob: aws.lambda.Function;
  readonly jobStatus: aws.lambda.Function;
  readonly retentionTagger: aws.lambda.Function;
  readonly uploads: aws.lambda.Function;
  readonly cancel: aws.lambda.Function;
  readonly retry: aws.lambda.Function;

  constructor(name: string, private readonly args: JobFunctionsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobFunctions", name, {}, opts);
    const { config, pipeline } = args;
    const settings = resolveFunctionSettings(args.settings);
    const functionName = (id: string) => `${args.context.prefix}-${id}`;
    // What every handler knows about its deployment (functions/config.ts reads these).
    const common = {
      SPACEPORT_ENVIRONMENT: args.environment,
      // The keys travel once, in SPACEPORT_API_KEYS (Lambda allows 4 KB of variables in all).
      SPACEPORT_CONFIG: JSON.stringify({ ...config, apiKeys: undefined }),
      SPACEPORT_API_KEYS: JSON.stringify(config.apiKeys),
      SPACEPORT_PROCESSING_BUCKET: args.processing.bucket.bucket,
      SPACEPORT_UPLOADS_BUCKET: args.uploads.bucket.bucket,
      SPACEPORT_API_BASE_URL: args.apiBaseUrl,
      SPACEPORT_DELIVERY_BASE_URL: args.deliveryBaseUrl,
      // Reads and copies carry ExpectedBucketOwner: an input bucket of another account is refused.
      SPACEPORT_ACCOUNT_ID: args.aws.apply((c) => c.accountId),
    };
    const processing = args.processing.bucket.bucket;
    this.notify = this.lambda("notify", args.entries.notify,
      pulumi.all([args.aws, processing, args.email.identityArn, args.email.configurationSetArn, args.stateMachineArn]).apply(([c, b, identityArn, configurationSetArn, machineArn]) =>
        notifyPolicy({ ctx: c, functionName: functionName("notify"), processingBucket: b, stateMachineArn: machineArn, pipeline, identityArn, configurationSetArn }),
      ),
      { ...common, SPACEPORT_SES_CONFIGURATION_SET: args.email.configurationSetName, SPACEPORT_STATE_MACHINE_ARN: args.stateMachineArn, SPACEPORT_APP_URL: args.appUrl },
      { ...settings.notify, description: "Emails the job's result (SES v2); invoked by the state machine and on endings no Catch sees" },
    );
    this.startJob = this.lambda("start-job", args.entries.startJob,
      pulumi.all([args.aws, processing, args.uploads.bucket.bucket, args.stateMachineArn]).apply(([c, b, u, stateMachineArn]) =>
        startJobPolicy({ ctx: c, functionName: functionName("start-job"), processingBucket: b, uploadsBucket: u, allowedInputBuckets: config.allowedInputBuckets, statePrefixes: args.statePrefixes, stateMachineArn }),
      ),
      { ...common, SPACEPORT_STATE_MACHINE_ARN: args.stateMachineArn },
      { ...settings.startJob, description: "POST /jobs, POST /start-job: validates and starts a job" },
    );
    this.jobStatus = this.lambda("job-status", args.entries.jobStatus,
      pulumi.all([args.aws, processing, args.stateMachineArn]).apply(([c, b, stateMachineArn]) =>
        jobStatusPolicy({ ctx: c, functionName: functionName("job-status"), processingBucket: b, stateMachineArn, pipeline }),
      ),
      { ...common, SPACEPORT_STATE_MACHINE_ARN: args.stateMachineArn },
      { ...settings.jobStatus, description: "GET /jobs, GET /jobs/{id}, GET /estimates: the caller's jobs, state, stage, progress, links" },
    );
    ({ uploads: this.uploads, cancel: this.cancel, retry: this.retry } = this.pageFunctions(common, settings));
    this.retentionTagger = this.tagger(settings.retentionTagger);
    this.registerOutputs({ notifyArn: this.notify.arn });
  }

  /** The functions behind the page's routes: uploads, cancel, retry. */
  private pageFunctions(common: Record<string, pulumi.Input<string>>, settings: Record<FunctionId, FunctionSettings>) {
    const { args } = this;
    const functionName = (id: string) => `${args.context.prefix}-${id}`;
    const processing = args.processing.bucket.bucket;
    const uploads = this.lambda("uploads", args.entries.uploads,
      pulumi.all([args.aws, processing, args.uploads.bucket.bucket]).apply(([c, b, u]) =>
        uploadsPolicy({ ctx: c, functionName: functionName("uploads"), processingBucket: b, uploadsBucket: u, objectPrefix: UPLOAD_OBJECT_PREFIX, recordPrefix: UPLOAD_RECORD_PREFIX }),
      ),
      common,
      { ...settings.uploads, description: "POST /uploads, /uploads/{id}/parts, /complete, DELETE /uploads/{id}: multipart uploads of a ZIP straight to S3" },
    );
    const cancel = this.lambda("cancel", args.entries.cancel,
      pulumi.all([args.aws, processing, args.stateMachineArn, args.email.identityArn, args.email.configurationSetArn]).apply(([c, b, stateMachineArn, identityArn, configurationSetArn]) =>
        cancelPolicy({ ctx: c, functionName: functionName("cancel"), processingBucket: b, stateMachineArn, pipeline: args.pipeline, environment: args.environment, identityArn, configurationSetArn }),
      ),
      { ...common, SPACEPORT_STATE_MACHINE_ARN: args.stateMachineArn, SPACEPORT_SES_CONFIGURATION_SET: args.email.configurationSetName },
      { ...settings.cancel, description: "POST /jobs/{id}/cancel: stops the job's execution or SageMaker job, emails once" },
    );
    const retry = this.lambda("retry", args.entries.retry,
      pulumi.all([args.aws, processing, args.stateMachineArn]).apply(([c, b, stateMachineArn]) => retryPolicy({ ctx: c, functionName: functionName("retry"), processingBucket: b, stateMachineArn })),
      { ...common, SPACEPORT_STATE_MACHINE_ARN: args.stateMachineArn },
      { ...settings.retry, description: "POST /jobs/{id}/retry: redrives a failed or cancelled job from the stage that did not finish" },
    );
    return { uploads, cancel, retry };
  }

  /** The retention tagger, subscribed to the processing bucket's ObjectCreated events under `jobs/`. */
  private tagger(settings: FunctionSettings): aws.lambda.Function {
    const { args } = this;
    const { name, prefix } = args.context;
    const tagger = this.lambda("retention-tagger", TAGGER_ENTRY,
      pulumi.all([args.aws, args.processing.bucket.bucket]).apply(([c, b]) =>
        retentionTaggerPolicy({ ctx: c, functionName: `${prefix}-retention-tagger`, processingBucket: b, pipeline: args.pipeline }),
      ),
      { [INTERMEDIATE_FOLDERS_VARIABLE]: intermediateFolders(args.pipeline).join(",") },
      { ...settings, description: "Tags intermediate job artifacts for early expiry" },
    );
    const permission = new aws.lambda.Permission(
      `${name}-retention-tagger-s3`,
      { action: "lambda:InvokeFunction", function: tagger.name, principal: "s3.amazonaws.com", sourceArn: args.processing.bucket.arn, sourceAccount: args.aws.apply((c) => c.accountId) },
      childOptions(this, args.formerParent),
    );
    new aws.s3.BucketNotification(
      `${name}-processing-events`,
      { bucket: args.processing.bucket.id, lambdaFunctions: [{ lambdaFunctionArn: tagger.arn, events: ["s3:ObjectCreated:*"], filterPrefix: JOBS_PREFIX }] },
      childOptions(this, args.formerParent, { dependsOn: [permission] }),
    );
    return tagger;
  }

  /** One function: its bundle, role, policy and log group. */
  private lambda(
    id: string,
    entry: string,
    policy: pulumi.Output<PolicyDocument>,
    environment: pulumi.Input<Record<string, pulumi.Input<string>>>,
    settings: FunctionSettings & { readonly description: string },
  ): aws.lambda.Function {
    const { args } = this;
    const { name, prefix, tags } = args.context;
    const functionName = `${prefix}-${id}`;
    const child = (extra?: pulumi.CustomResourceOptions) => childOptions(this, args.formerParent, extra);
    const bundle = bundleHandler(args.root, entry);
    const role = new aws.iam.Role(`${name}-${id}-role`, { description: `${prefix} ${id} function`, assumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com"), tags }, child());
    const rolePolicy = new aws.iam.RolePolicy(`${name}-${id}-policy`, { role: role.id, policy: json(policy) }, child());
    // Fixed physical names (environment-scoped): a replacement must delete the old one first.
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-${id}-logs`, { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays, tags }, child({ deleteBeforeReplace: true }));
    const functionArgs: aws.lambda.FunctionArgs = {
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
      tags: { ...tags, [TAGS.entry]: entry },
    };
    return new aws.lambda.Function(...transformed(`${name}-${id}`, functionArgs, child({ dependsOn: [rolePolicy, logGroup], deleteBeforeReplace: true }), args.transform?.function));
  }
}
