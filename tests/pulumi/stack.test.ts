/**
 * The Pulumi program (index.ts) under mocks, once per environment: inventory, IAM allow-lists,
 * bucket protections and retention, the deployed ASL equal to the compiler's, quotas flowing
 * into the ASL, and invalid stack config failing with the key's name.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { compile } from "../../pipeline/compile.js";
import { allStates } from "../../pipeline/asl.js";
import { readStackConfigFile, type EnvironmentConfig } from "../../pipeline/environment.js";
import { bundleHandler } from "../../pipeline/pulumi/bundle.js";
import { checkEnvironmentSize } from "../../pipeline/pulumi/stack.js";
import { readStackConfig, runUnderMocks, type MockedResource, type MockedRun } from "../../pipeline/pulumi/mocks.js";
import { WILDCARD_REASONS, type PolicyDocument, type PolicyStatement } from "../../pipeline/pulumi/policies.js";
import { INTERMEDIATE, RETENTION_TAG, intermediateFolders, isIntermediateKey } from "../../pipeline/pulumi/retention.js";
import { compileTargetFor } from "../../pipeline/pulumi/target.js";
import { stackRoutes } from "../../pipeline/pulumi/routes.js";
import { idempotencyRecordKey, dailyCountPrefix } from "../../functions/start-job/handler.js";
import { spaceport } from "../../stages/spaceport.js";
import { contentTypeFor } from "../../pipeline/content-types.js";
import { DELIVERY_FILES as COMPRESSOR_DELIVERY_FILES, LOD_BUNDLE_EXAMPLES } from "../../images/compressor/src/delivery-files.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const load = () => import("../../index.js");

async function synth(environment: string, file = join(ROOT, `Pulumi.${environment}.yaml`)): Promise<MockedRun> {
  return runUnderMocks({ load, environment, config: readStackConfig(file, environment) });
}

const runs: Record<string, MockedRun> = {};
const startedAt = Date.now();
const configs: Record<string, EnvironmentConfig> = {};

beforeAll(async () => {
  // One mocked run per environment, shared by every test (the Pulumi runtime is process-wide).
  for (const env of ["prod", "dev"]) {
    runs[env] = await synth(env);
    configs[env] = readStackConfigFile(join(ROOT, `Pulumi.${env}.yaml`), env);
  }
}, 90_000);

const ofType = (run: MockedRun, type: string) => run.resources.filter((r) => r.type === type);
const one = (run: MockedRun, type: string, name?: string): MockedResource => {
  const found = ofType(run, type).filter((r) => name === undefined || r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}`);
  return found[0]!;
};
const state = (r: MockedResource, key: string) => r.state[key] as string;

describe.each(["prod", "dev"])("%s stack", (env) => {
  const run = () => runs[env]!;
  const config = () => configs[env]!;

  test("inventory: the whole system, one stack", () => {
    const counts: Record<string, number> = {};
    for (const r of run().resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    expect(counts).toMatchObject({
      "spaceport:pipeline:PipelineStack": 1,
      "aws:s3/bucket:Bucket": 3,
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 3,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 3,
      "aws:s3/bucketPolicy:BucketPolicy": 3,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 2,
      "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": 2,
      "aws:ecr/repository:Repository": spaceport.stages.length,
      "docker-build:index:Image": spaceport.stages.length,
      "aws:sfn/stateMachine:StateMachine": 1,
      "aws:lambda/function:Function": 7,
      "aws:apigatewayv2/api:Api": 1,
      "aws:apigatewayv2/authorizer:Authorizer": 1,
      "aws:apigatewayv2/route:Route": stackRoutes().length,
      "aws:cognito/userPool:UserPool": 1,
      "aws:cognito/userPoolClient:UserPoolClient": 1,
      "aws:cognito/userPoolDomain:UserPoolDomain": 1,
      "aws:s3/bucketObjectv2:BucketObjectv2": 3,
      "aws:apigatewayv2/stage:Stage": 1,
      "aws:sesv2/emailIdentity:EmailIdentity": 1,
      "aws:sesv2/configurationSet:ConfigurationSet": 1,
      "aws:cloudfront/distribution:Distribution": 2,
      "aws:cloudfront/originAccessControl:OriginAccessControl": 1,
      "aws:cloudfront/function:Function": 2,
      "aws:cloudwatch/metricAlarm:MetricAlarm": 8,
      "aws:sns/topic:Topic": 1,
      "aws:sns/topicSubscription:TopicSubscription": 1,
    });
    expect(ofType(run(), "aws:apigatewayv2/route:Route").map((r) => r.inputs["routeKey"]).sort()).toEqual(stackRoutes().map((r) => r.key).sort());
    const machine = one(run(), "aws:sfn/stateMachine:StateMachine");
    expect(machine.inputs["name"]).toBe(`spaceport-ml-${env}`);
    expect(machine.inputs["tracingConfiguration"]).toEqual({ enabled: true });
    expect(machine.inputs["loggingConfiguration"]).toMatchObject({ level: "ALL", includeExecutionData: false });
    expect(String((machine.inputs["loggingConfiguration"] as { logDestination: string }).logDestination)).toMatch(/^arn:aws:logs:.*:log-group:\/aws\/vendedlogs\/states\/spaceport-ml-/);
    // Alarms: failed and timed-out executions, notify, start-job and job-status errors, all to the topic mailing the alarm email.
    const alarms = ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => `${a.inputs["namespace"]}/${a.inputs["metricName"]}`).sort();
    expect(alarms).toEqual([...Array(6).fill("AWS/Lambda/Errors"), "AWS/States/ExecutionsFailed", "AWS/States/ExecutionsTimedOut"]);
    const lambdaAlarms = ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.inputs["namespace"] === "AWS/Lambda");
    expect(lambdaAlarms.map((a) => (a.inputs["dimensions"] as { FunctionName: string }).FunctionName).sort()).toEqual(
      ["cancel", "job-status", "notify", "retry", "start-job", "uploads"].map((f) => `spaceport-ml-${env}-${f}`),
    );
    const topic = state(one(run(), "aws:sns/topic:Topic"), "arn");
    for (const a of ofType(run(), "aws:cloudwatch/metricAlarm:MetricAlarm")) expect(a.inputs["alarmActions"]).toEqual([topic]);
    expect(one(run(), "aws:sns/topicSubscription:TopicSubscription").inputs).toMatchObject({ protocol: "email", endpoint: config().alarmEmail });
    expect(one(run(), "aws:sesv2/emailIdentity:EmailIdentity").inputs["emailIdentity"]).toBe(config().sesSender);
  });

  test("images: one per stage, linux/amd64, pushed as a plain Docker v2 manifest, repository root context", () => {
    for (const stage of spaceport.stages) {
      const image = one(run(), "docker-build:index:Image", `spaceport-${stage.name}-image`);
      const repo = one(run(), "aws:ecr/repository:Repository", `spaceport-${stage.name}`);
      expect(image.inputs).toMatchObject({
        platforms: ["linux/amd64"],
        context: { location: "." },
        dockerfile: { location: stage.image.dockerfile },
        exports: [{ registry: { ociMediaTypes: false, push: true } }],
        push: false,
        tags: [`${state(repo, "repositoryUrl")}:${env}`],
      });
      // Nothing asks for attestations (provenance/SBOM) or a multi-platform index.
      expect(JSON.stringify(image.inputs)).not.toMatch(/attest|provenance|sbom/i);
      // `pulumi preview` builds nothing (the CUDA image takes long); `pulumi up` builds.
      expect(image.inputs["buildOnPreview"]).toBe(false);
      expect(run().outputs["images"]).toHaveProperty(stage.name, `${state(repo, "repositoryUrl")}@${state(image, "digest")}`);
    }
  });

  test("functions: nodejs22.x esbuild bundles of the handlers, with their environment", () => {
    const fns = ofType(run(), "aws:lambda/function:Function");
    const entries: Record<string, string> = {
      [`spaceport-ml-${env}-start-job`]: "stages/lambda/start-job.ts",
      [`spaceport-ml-${env}-job-status`]: "stages/lambda/job-status.ts",
      [`spaceport-ml-${env}-notify`]: "stages/lambda/notify.ts",
      [`spaceport-ml-${env}-retention-tagger`]: "pipeline/pulumi/handlers/retention-tagger.ts",
      [`spaceport-ml-${env}-uploads`]: "stages/lambda/uploads.ts",
      [`spaceport-ml-${env}-cancel`]: "stages/lambda/cancel.ts",
      [`spaceport-ml-${env}-retry`]: "stages/lambda/retry.ts",
    };
    expect(fns.map((f) => f.inputs["name"]).sort()).toEqual(Object.keys(entries).sort());
    for (const fn of fns) {
      expect(fn.inputs).toMatchObject({ runtime: "nodejs22.x", handler: "index.handler", tracingConfig: { mode: "Active" } });
      const bundle = bundleHandler(ROOT, entries[fn.inputs["name"] as string]!);
      const expected = Buffer.from(bundle.sha256, "hex").toString("base64");
      // Someone editing a handler while this suite runs changes the bundle in between: only then skip.
      const editedDuringRun = bundle.inputs.some((file) => statSync(join(ROOT, file)).mtimeMs >= startedAt);
      if (fn.inputs["sourceCodeHash"] !== expected && editedDuringRun) continue;
      expect(fn.inputs["sourceCodeHash"]).toBe(expected);
    }
    const vars = (name: string) => (fns.find((f) => f.inputs["name"] === `spaceport-ml-${env}-${name}`)!.inputs["environment"] as { variables: Record<string, string> }).variables;
    const machineArn = state(one(run(), "aws:sfn/stateMachine:StateMachine"), "arn");
    const processing = run().outputs["processingBucket"];
    for (const name of ["start-job", "job-status", "notify", "cancel", "retry"]) {
      expect(vars(name)).toMatchObject({ SPACEPORT_ENVIRONMENT: env, SPACEPORT_PROCESSING_BUCKET: processing, SPACEPORT_STATE_MACHINE_ARN: machineArn });
      const { apiKeys, ...rest } = config();
      expect(JSON.parse(vars(name)["SPACEPORT_CONFIG"]!)).toEqual(rest);
      expect(JSON.parse(vars(name)["SPACEPORT_API_KEYS"]!)).toEqual(apiKeys);
      expect(vars(name)["SPACEPORT_DELIVERY_BASE_URL"]).toMatch(/^https:\/\/d[0-9a-f]+\.cloudfront\.net$/);
    }
    expect(vars("notify")["SPACEPORT_SES_CONFIGURATION_SET"]).toBe(`spaceport-ml-${env}`);
  });

  test("API throttling: the stage is a ceiling for all callers, WAF limits each source IP in front", () => {
    const stage = one(run(), "aws:apigatewayv2/stage:Stage");
    expect(stage.inputs["defaultRouteSettings"]).toEqual({
      throttlingRateLimit: config().apiRateLimit.totalRatePerSecond,
      throttlingBurstLimit: config().apiRateLimit.totalBurst,
    });
  });

  test("the deployed definition is exactly the compiler's output for the deployed names", () => {
    const machine = one(run(), "aws:sfn/stateMachine:StateMachine");
    const images = Object.fromEntries(
      spaceport.stages.map((s) => [
        s.name,
        `${state(one(run(), "aws:ecr/repository:Repository", `spaceport-${s.name}`), "repositoryUrl")}@${state(one(run(), "docker-build:index:Image", `spaceport-${s.name}-image`), "digest")}`,
      ]),
    );
    const target = compileTargetFor(spaceport, env, config(), {
      bucket: run().outputs["processingBucket"] as string,
      roleArns: Object.fromEntries(spaceport.stages.map((s) => [s.name, state(one(run(), "aws:iam/role:Role", `spaceport-${s.name}-sagemaker`), "arn")])),
      images,
      notifyFunction: state(one(run(), "aws:lambda/function:Function", "spaceport-notify"), "arn"),
    });
    expect(machine.inputs["definition"]).toBe(compile(spaceport, target).definitionJson);
    // The stack's compileTarget output carries the same names (the local runtime can compile the deployed ASL).
    const exported = JSON.parse(run().outputs["compileTarget"] as string) as { environment: string; names: Parameters<typeof compileTargetFor>[3] };
    expect(compile(spaceport, compileTargetFor(spaceport, exported.environment, config(), exported.names)).definitionJson).toBe(machine.inputs["definition"]);
  });
});

test("quota config flows into the compiled pipeline: dev's instance overrides appear in the ASL", () => {
  const instances = (env: string) => {
    const asl = JSON.parse(one(runs[env]!, "aws:sfn/stateMachine:StateMachine").inputs["definition"] as string) as {
      States: Record<string, { Parameters?: { ProcessingResources?: { ClusterConfig: { InstanceType: string } }; ResourceConfig?: { InstanceType: string } } }>;
    };
    return Object.fromEntries(
      spaceport.stages.map((s) => {
        const p = (allStates(asl as never)[`Run ${s.name}`] as (typeof asl.States)[string]).Parameters!;
        return [s.name, p.ProcessingResources?.ClusterConfig.InstanceType ?? p.ResourceConfig?.InstanceType];
      }),
    );
  };
  expect(instances("prod")).toEqual({ sfm: "ml.c6i.2xlarge", "gaussian-splatting": "ml.g4dn.xlarge", compressor: "ml.c6i.4xlarge" });
  expect(instances("dev")).toEqual({ sfm: "ml.c6i.xlarge", "gaussian-splatting": "ml.g4dn.xlarge", compressor: "ml.c6i.xlarge" });
});

// ---- IAM ---------------------------------------------------------------------------------------

/** Every action each role may hold. Anything else in a policy fails the test. */
const SAGEMAKER_ACTIONS = [
  "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload",
  "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:GetAuthorizationToken",
  "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams", "cloudwatch:PutMetricData",
];
const ALLOWED_ACTIONS: Record<string, readonly string[]> = {
  ...Object.fromEntries(spaceport.stages.map((s) => [`spaceport-${s.name}-sagemaker-policy`, SAGEMAKER_ACTIONS])),
  "spaceport-states-policy": [
    "sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob", "sagemaker:AddTags",
    "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:ListTags",
    // The looks for the trainer's early model: listing its marker and the final model's folder only.
    "s3:ListBucket",
    "events:PutTargets", "events:PutRule", "events:DescribeRule", "iam:PassRole", "lambda:InvokeFunction",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
    "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
  ],
  "spaceport-start-job-policy": [
    "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "s3:GetObject", "s3:GetObjectTagging", "s3:PutObject", "s3:PutObjectTagging", "s3:ListBucket", "states:StartExecution", "states:ListExecutions", "states:DescribeExecution",
  ],
  "spaceport-job-status-policy": [
    "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "states:DescribeExecution", "states:GetExecutionHistory", "logs:FilterLogEvents",
    // The cancel markers under jobs/<id>/status/ (a stopped job reads `cancelled`).
    "s3:GetObject", "s3:ListBucket",
  ],
  "spaceport-notify-policy": [
    "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "states:DescribeExecution", "states:GetExecutionHistory", "ses:SendEmail",
  ],
  "spaceport-retention-tagger-policy": ["logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords", "s3:PutObjectTagging"],
  // Multipart uploads (Create, the presigned UploadPart and Complete are s3:PutObject), their session records.
  "spaceport-uploads-policy": [
    "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:GetObject", "s3:ListBucket",
  ],
  "spaceport-cancel-policy": [
    "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution", "sagemaker:StopProcessingJob", "sagemaker:StopTrainingJob",
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "ses:SendEmail",
  ],
  "spaceport-retry-policy": [
    "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    "states:DescribeExecution", "states:GetExecutionHistory", "states:RedriveExecution", "s3:GetObject", "s3:ListBucket",
  ],
};

describe.each(["prod", "dev"])("IAM (%s)", (env) => {
  const run = () => runs[env]!;
  const policies = () =>
    ofType(run(), "aws:iam/rolePolicy:RolePolicy").map((p) => ({ name: p.name, doc: JSON.parse(p.inputs["policy"] as string) as PolicyDocument }));

  test("every statement of every role is on that role's allow-list, with no wildcard actions", () => {
    expect(policies().map((p) => p.name).sort()).toEqual(Object.keys(ALLOWED_ACTIONS).sort());
    for (const { name, doc } of policies()) {
      for (const statement of doc.Statement) {
        expect(statement.Effect).toBe("Allow");
        for (const action of statement.Action) {
          expect(action).not.toContain("*");
          if (!ALLOWED_ACTIONS[name]!.includes(action)) throw new Error(`${name}: ${statement.Sid} allows ${action}, which is not on its allow-list`);
        }
      }
    }
  });

  test("'*' resources only where the API has no resource-level permissions", () => {
    for (const { name, doc } of policies()) {
      for (const statement of doc.Statement) {
        const resources = statement.Resource === "*" ? ["*"] : statement.Resource;
        if (resources.includes("*")) {
          if (!(statement.Sid in WILDCARD_REASONS)) throw new Error(`${name}: ${statement.Sid} uses Resource "*" without a reason`);
        }
        for (const r of resources) if (r !== "*") expect(r).toMatch(/^arn:aws:/);
      }
    }
  });

  test("resources are this stack's: its buckets, repositories, jobs, rules, roles and functions", () => {
    const processing = run().outputs["processingBucket"] as string;
    const uploads = run().outputs["uploadsBucket"] as string;
    const repos = ofType(run(), "aws:ecr/repository:Repository").map((r) => state(r, "arn"));
    const sageMakerRoles = spaceport.stages.map((s) => state(one(run(), "aws:iam/role:Role", `spaceport-${s.name}-sagemaker`), "arn"));
    const notify = state(one(run(), "aws:lambda/function:Function", "spaceport-notify"), "arn");
    const machine = state(one(run(), "aws:sfn/stateMachine:StateMachine"), "arn");
    const statements = Object.fromEntries(policies().map((p) => [p.name, p.doc.Statement])) as Record<string, PolicyStatement[]>;
    const allResources = (name: string, action: string) =>
      statements[name]!.filter((s) => s.Action.includes(action)).flatMap((s) => (s.Resource === "*" ? ["*"] : [...s.Resource]));

    for (const [name, list] of Object.entries(statements)) {
      for (const s of list) {
        for (const r of s.Resource === "*" ? [] : s.Resource) {
          if (r.startsWith("arn:aws:s3:::")) expect([processing, uploads]).toContain(r.slice(13).split("/")[0]);
        }
        if (s.Action.some((a) => a.startsWith("s3:") && a !== "s3:ListBucket" && a !== "s3:GetBucketLocation")) {
          for (const r of s.Resource as string[]) expect(r).toMatch(/^arn:aws:s3:::[^/]+\/.+/); // objects, never whole buckets
        }
        void name;
      }
    }
    // SageMaker roles: one per stage, each reaching only its own stage's prefixes and image (see "one SageMaker role per stage").
    const job = "jobs/????????-??????-????????";
    const objects = (folder: string) => [`arn:aws:s3:::${processing}/${job}/${folder}/*`];
    expect(allResources("spaceport-sfm-sagemaker-policy", "s3:GetObject")).toEqual(objects("input"));
    expect(allResources("spaceport-sfm-sagemaker-policy", "s3:PutObject")).toEqual(objects("sfm"));
    // Training also keeps its checkpoint folder (spot resume, and its early model); the
    // compressor also reads that early model (its preview run).
    const checkpoints = objects("checkpoints/gaussian-splatting");
    expect(allResources("spaceport-gaussian-splatting-sagemaker-policy", "s3:GetObject")).toEqual([...objects("sfm"), ...checkpoints]);
    expect(allResources("spaceport-gaussian-splatting-sagemaker-policy", "s3:PutObject")).toEqual([...objects("model"), ...checkpoints]);
    expect(allResources("spaceport-compressor-sagemaker-policy", "s3:GetObject")).toEqual([...objects("model"), ...objects("checkpoints/gaussian-splatting/early/model")]);
    expect(allResources("spaceport-compressor-sagemaker-policy", "s3:PutObject")).toEqual(objects("delivery"));
    for (const stage of spaceport.stages) {
      const repo = state(one(run(), "aws:ecr/repository:Repository", `spaceport-${stage.name}`), "arn");
      expect(allResources(`spaceport-${stage.name}-sagemaker-policy`, "ecr:BatchGetImage")).toEqual([repo]);
    }
    void repos;
    // State machine: its own jobs, the two managed .sync rules, PassRole only for the SageMaker role, invoke only notify.
    for (const r of allResources("spaceport-states-policy", "sagemaker:CreateTrainingJob")) {
      expect(r).toMatch(/^arn:aws:sagemaker:us-west-2:123456789012:(processing|training)-job\/\?{8}-\?{6}-\?{8}-[a-z-]+-\*$/);
    }
    expect(allResources("spaceport-states-policy", "events:PutRule").sort()).toEqual([
      "arn:aws:events:us-west-2:123456789012:rule/StepFunctionsGetEventsForSageMakerProcessingJobsRule",
      "arn:aws:events:us-west-2:123456789012:rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule",
    ]);
    const passRole = statements["spaceport-states-policy"]!.find((s) => s.Action.includes("iam:PassRole"))!;
    expect([...passRole.Resource].sort()).toEqual([...sageMakerRoles].sort());
    expect(passRole.Condition).toEqual({ StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } });
    expect(allResources("spaceport-states-policy", "lambda:InvokeFunction")).toEqual([notify, `${notify}:*`]);
    // Functions: their own state machine and executions only.
    expect(allResources("spaceport-start-job-policy", "states:StartExecution")).toEqual([machine]);
    for (const fn of ["spaceport-start-job-policy", "spaceport-job-status-policy", "spaceport-notify-policy"]) {
      expect(allResources(fn, "states:DescribeExecution")).toEqual([`${machine.replace(":stateMachine:", ":execution:")}:*`]);
    }
    expect(allResources("spaceport-start-job-policy", "s3:PutObject").sort()).toEqual(
      [`arn:aws:s3:::${processing}/clients/*`, `arn:aws:s3:::${processing}/idempotency/*`, `arn:aws:s3:::${processing}/jobs/*/input/*`, `arn:aws:s3:::${processing}/quota/*`].sort(),
    );
    expect(allResources("spaceport-job-status-policy", "logs:FilterLogEvents").every((r) => /:log-group:\/aws\/sagemaker\/(Processing|Training)Jobs(:\*)?$/.test(r))).toBe(true);
    expect(allResources("spaceport-start-job-policy", "s3:GetObject")).toContain(`arn:aws:s3:::${uploads}/*`);
    expect(allResources("spaceport-start-job-policy", "s3:PutObjectTagging")).toEqual([`arn:aws:s3:::${processing}/jobs/*/input/*`]);
    expect(allResources("spaceport-retention-tagger-policy", "s3:PutObjectTagging").every((r) => /\/jobs\/\*\/(sfm|model|checkpoints)\/\*$/.test(r))).toBe(true);
    expect(allResources("spaceport-notify-policy", "ses:SendEmail")).toEqual([
      state(one(run(), "aws:sesv2/emailIdentity:EmailIdentity"), "arn"),
      state(one(run(), "aws:sesv2/configurationSet:ConfigurationSet"), "arn"),
    ]);
  });

  test("trust policies: each role assumable only by its service", () => {
    const principals = Object.fromEntries(
      ofType(run(), "aws:iam/role:Role").map((r) => [r.name, (JSON.parse(r.inputs["assumeRolePolicy"] as string) as PolicyDocument).Statement.map((s) => s.Principal)]),
    );
    for (const stage of spaceport.stages) expect(principals[`spaceport-${stage.name}-sagemaker`]).toEqual([{ Service: "sagemaker.amazonaws.com" }]);
    expect(principals["spaceport-states"]).toEqual([{ Service: "states.amazonaws.com" }]);
    for (const fn of ["start-job", "job-status", "notify", "retention-tagger"]) expect(principals[`spaceport-${fn}-role`]).toEqual([{ Service: "lambda.amazonaws.com" }]);
  });
});

// ---- Buckets ------------------------------------------------------------------------------------

describe.each(["prod", "dev"])("buckets (%s)", (env) => {
  const run = () => runs[env]!;
  const config = () => configs[env]!;
  const forBucket = (type: string, bucket: string) => ofType(run(), type).filter((r) => r.inputs["bucket"] === bucket);

  test("encrypted, private, owner-enforced, TLS only; CloudFront reads deliveries and nothing else", () => {
    const distribution = state(one(run(), "aws:cloudfront/distribution:Distribution", "spaceport-deliveries"), "arn");
    for (const key of ["uploadsBucket", "processingBucket"]) {
      const bucket = run().outputs[key] as string;
      expect(forBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket)[0]!.inputs).toMatchObject({
        blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
      });
      expect(forBucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket)[0]!.inputs["rules"]).toEqual([
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ]);
      expect(forBucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls", bucket)[0]!.inputs["rule"]).toEqual({ objectOwnership: "BucketOwnerEnforced" });
      const policy = JSON.parse(forBucket("aws:s3/bucketPolicy:BucketPolicy", bucket)[0]!.inputs["policy"] as string) as PolicyDocument;
      expect(policy.Statement[0]).toEqual({
        Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: ["s3:*"],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`], Condition: { Bool: { "aws:SecureTransport": false } },
      });
      const allows = policy.Statement.filter((s) => s.Effect === "Allow");
      if (key === "uploadsBucket") expect(allows).toEqual([]);
      else {
        expect(allows).toEqual([
          {
            Sid: "CloudFrontReadsDeliveries", Effect: "Allow", Principal: { Service: "cloudfront.amazonaws.com" }, Action: ["s3:GetObject"],
            Resource: [`arn:aws:s3:::${bucket}/jobs/*/delivery/*`], Condition: { StringEquals: { "AWS:SourceArn": distribution } },
          },
        ]);
      }
      const cors = forBucket("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", bucket)[0]!.inputs["corsRules"] as { allowedMethods: string[]; allowedOrigins: string[] }[];
      expect(cors[0]!.allowedMethods).toContain("GET");
      // The uploads bucket also takes parts from the page's origin (the delivery distribution).
      const page = key === "uploadsBucket" ? [run().outputs["deliveryBaseUrl"] as string] : [];
      expect(cors[0]!.allowedOrigins).toEqual([...new Set([...page, ...config().corsOrigins])]);
    }
    const cdn = one(run(), "aws:cloudfront/distribution:Distribution", "spaceport-deliveries").inputs as { origins: { originAccessControlId: string }[]; orderedCacheBehaviors: { pathPattern: string; viewerProtocolPolicy: string }[] };
    expect(cdn.origins[0]!.originAccessControlId).toBe(one(run(), "aws:cloudfront/originAccessControl:OriginAccessControl").id);
    expect(cdn.orderedCacheBehaviors.find((b) => b.pathPattern === "jobs/*/delivery/*")).toMatchObject({ viewerProtocolPolicy: "redirect-to-https" });
  });

  test("lifecycle: intermediates expire early, inputs and deliveries never before deliveryRetentionDays (>= 7)", () => {
    type Rule = { id: string; status: string; filter: { prefix?: string; tag?: { key: string; value: string } }; expiration?: { days: number } };
    const rules = forBucket("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", run().outputs["processingBucket"] as string)[0]!.inputs["rules"] as Rule[];
    const folders = intermediateFolders(spaceport);
    expect(folders.sort()).toEqual(["checkpoints", "model", "sfm"]);
    // S3's lifecycle semantics: a rule applies when its prefix matches and its tag is on the object; the earliest expiry wins.
    const expiresAfter = (key: string): number | undefined => {
      const tags = isIntermediateKey(key, folders) ? { [RETENTION_TAG]: INTERMEDIATE } : {};
      const days = rules
        .filter((r) => r.status === "Enabled" && r.expiration)
        .filter((r) => key.startsWith(r.filter.prefix ?? "") && (!r.filter.tag || (tags as Record<string, string>)[r.filter.tag.key] === r.filter.tag.value))
        .map((r) => r.expiration!.days);
      return days.length ? Math.min(...days) : undefined;
    };
    const job = "jobs/20261126-093012-1a2b3c4d";
    const kept = [`${job}/input/photos.zip`, `${job}/delivery/scene.sog`, `${job}/delivery/index.html`, `${job}/status/notification-succeeded.json`];
    const intermediates = [`${job}/sfm/sparse/0/points3D.bin`, `${job}/model/${job.slice(5)}-gaussian-splatting-1/output/model.tar.gz`, `${job}/checkpoints/gaussian-splatting/step-1000.pt`];
    for (const key of kept) {
      expect(expiresAfter(key)).toBe(config().deliveryRetentionDays);
      expect(expiresAfter(key)!).toBeGreaterThanOrEqual(7);
    }
    for (const key of intermediates) expect(expiresAfter(key)).toBe(Math.min(config().intermediateRetentionDays, config().deliveryRetentionDays));
    // start-job's own records (functions/start-job/handler.ts) live in folders with their own rules.
    expect(expiresAfter(idempotencyRecordKey("website", "key:abc"))).toBe(config().deliveryRetentionDays);
    expect(expiresAfter(`${dailyCountPrefix("website", "2026-11-26")}x`)).toBe(2);
  });
});

// ---- Config errors -----------------------------------------------------------------------------

describe("an invalid Pulumi.<env>.yaml fails naming the key", () => {
  const dir = mkdtempSync(join(tmpdir(), "spaceport-stack-"));
  const variant = (edit: (config: Record<string, unknown>) => void): string => {
    const doc = parseYaml(readFileSync(join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
    edit(doc.config);
    const file = join(dir, `Pulumi.broken-${createHash("sha1").update(JSON.stringify(doc)).digest("hex").slice(0, 6)}.yaml`);
    writeFileSync(file, stringifyYaml(doc));
    return file;
  };
  test.each([
    ["invalid email", (c: Record<string, unknown>) => { c["spaceport:alarmEmail"] = "not-an-email"; }, "spaceport:alarmEmail"],
    ["missing sender", (c: Record<string, unknown>) => { delete c["spaceport:sesSender"]; }, "spaceport:sesSender"],
    ["bad region", (c: Record<string, unknown>) => { c["aws:region"] = "mars-1"; }, "aws:region"],
    ["unknown key", (c: Record<string, unknown>) => { c["spaceport:alarmEmial"] = "ops@example.com"; }, "spaceport:alarmEmial"],
    ["bad quota", (c: Record<string, unknown>) => { c["spaceport:quotas"] = [{ instanceType: "ml.x9.huge", jobKind: "training", count: 1 }]; }, "spaceport:quotas.0.instanceType"],
  ])("%s", async (_, edit, key) => {
    await expect(synth("broken", variant(edit))).rejects.toThrow(key);
  });

  test("quotas that do not cover a stage fail naming the stage and field, before any resource", async () => {
    const file = variant((c) => {
      c["spaceport:quotas"] = (c["spaceport:quotas"] as { instanceType: string }[]).filter((q) => q.instanceType !== "ml.c6i.4xlarge");
    });
    await expect(synth("broken", file)).rejects.toThrow(/stage "compressor", instance\.type: ml\.c6i\.4xlarge has no processing job quota/);
    const overridden = variant((c) => { c["spaceport:instanceOverrides"] = { sfm: { count: 2 } }; });
    await expect(synth("broken", overridden)).rejects.toThrow(/stage "sfm", instance\.count: 2 × ml\.c6i\.2xlarge is above/);
  });

  test("a sender outside sesDomain names spaceport:sesDomain", async () => {
    await expect(synth("broken", variant((c) => { c["spaceport:sesDomain"] = "other.example.org"; }))).rejects.toThrow("spaceport:sesDomain");
  });
});

test("more than Lambda's 4 KB of environment variables fails naming the function", () => {
  expect(checkEnvironmentSize("f", { A: "x".repeat(4000) })).toEqual({ A: "x".repeat(4000) });
  expect(() => checkEnvironmentSize("spaceport-ml-prod-start-job", { A: "x".repeat(4100) })).toThrow(/spaceport-ml-prod-start-job: 4101 bytes/);
});

test("index.ts has only a default export (Pulumi refuses an ESM entry with both kinds)", async () => {
  expect(Object.keys(await load())).toEqual(["default"]);
  const project = parseYaml(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { main: string; runtime: { options: Record<string, unknown> } };
  expect(project.main).toBe("index.ts");
  expect(project.runtime.options).toMatchObject({ typescript: false, nodeargs: "--import tsx" });
});

describe("delivery files get their real Content-Type on AWS", () => {
  // What SageMaker's output upload leaves on every object, and what CloudFront would pass on.
  const untyped = { statusCode: 200, headers: { "content-type": { value: "binary/octet-stream" } } };
  const viewerResponse = (code: string, uri: string, response: { statusCode: number; headers: Record<string, { value: string }> }) => {
    const context = vm.createContext({});
    vm.runInContext(`${code}\nthis.run = handler;`, context);
    return (context as { run: (e: unknown) => typeof response }).run({ request: { uri }, response: structuredClone(response) });
  };

  test("every delivery behavior of the distribution runs the typing function on the viewer response", () => {
    const fn = one(runs["prod"]!, "aws:cloudfront/function:Function", "spaceport-delivery-types");
    expect(fn.inputs).toMatchObject({ runtime: "cloudfront-js-2.0", publish: true });
    const cdn = one(runs["prod"]!, "aws:cloudfront/distribution:Distribution", "spaceport-deliveries").inputs as {
      defaultCacheBehavior: { functionAssociations: unknown[] };
      orderedCacheBehaviors: { pathPattern: string; functionAssociations: unknown[] }[];
    };
    // The page's behaviour (/app/*) has its own files and function (tests/pulumi/page.test.ts).
    for (const behavior of [cdn.defaultCacheBehavior, ...cdn.orderedCacheBehaviors.filter((b) => b.pathPattern !== "/app/*")]) {
      expect(behavior.functionAssociations).toEqual([{ eventType: "viewer-response", functionArn: state(fn, "arn") }]);
    }
    // nosniff stays: the typing is what makes it safe.
    const policy = one(runs["prod"]!, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "spaceport-viewer-cors").inputs as { securityHeadersConfig: { contentTypeOptions: { override: boolean } } };
    expect(policy.securityHeadersConfig.contentTypeOptions.override).toBe(true);
  });

  test("each file the compressor writes is served with its type", () => {
    const code = state(one(runs["prod"]!, "aws:cloudfront/function:Function", "spaceport-delivery-types"), "code");
    const expected: Record<string, string> = {
      "index.html": "text/html; charset=utf-8",
      "index.js": "text/javascript; charset=utf-8",
      "measure.js": "text/javascript; charset=utf-8",
      "index.css": "text/css; charset=utf-8",
      "report.json": "application/json",
      "preview.webp": "image/webp",
      "thumbnail.jpg": "image/jpeg",
      "scene.sog": "application/octet-stream",
      "scene.spz": "application/octet-stream",
    };
    expect(Object.keys(expected).sort()).toEqual([...COMPRESSOR_DELIVERY_FILES].sort());
    for (const file of COMPRESSOR_DELIVERY_FILES) {
      const uri = `/jobs/j-1/delivery/${file}`;
      expect(viewerResponse(code, uri, untyped).headers["content-type"]).toEqual({ value: expected[file] });
      expect(contentTypeFor(uri)).toBe(expected[file]);
    }
    // a large scene's streamed bundle, in its folders
    const lod: Record<string, string> = { json: "application/json", webp: "image/webp" };
    for (const file of LOD_BUNDLE_EXAMPLES) {
      const uri = `/jobs/j-1/delivery/${file}`;
      expect(viewerResponse(code, uri, untyped).headers["content-type"]).toEqual({ value: lod[file.split(".").pop()!] });
    }
    // Errors and unknown extensions are passed on untouched.
    expect(viewerResponse(code, "/jobs/j-1/delivery/index.js", { statusCode: 403, headers: {} }).headers).toEqual({});
    expect(viewerResponse(code, "/jobs/j-1/delivery/README", untyped).headers["content-type"]).toEqual({ value: "binary/octet-stream" });
  });

  test("the preview is replaced at the same link: the edge keeps delivery files a minute at most, browsers revalidate", () => {
    const code = state(one(runs["prod"]!, "aws:cloudfront/function:Function", "spaceport-delivery-types"), "code");
    expect(viewerResponse(code, "/jobs/j-1/delivery/index.html", untyped).headers["cache-control"]).toEqual({ value: "no-cache" });
    expect(viewerResponse(code, "/jobs/j-1/delivery/index.html", { statusCode: 404, headers: {} }).headers).toEqual({});
    const policy = one(runs["prod"]!, "aws:cloudfront/cachePolicy:CachePolicy", "spaceport-delivery-cache");
    expect(policy.inputs).toMatchObject({ minTtl: 0, defaultTtl: 60, maxTtl: 60 });
    const cdn = one(runs["prod"]!, "aws:cloudfront/distribution:Distribution", "spaceport-deliveries").inputs as {
      defaultCacheBehavior: { cachePolicyId: string };
      orderedCacheBehaviors: { pathPattern: string; cachePolicyId: string }[];
    };
    const delivery = cdn.orderedCacheBehaviors.find((b) => b.pathPattern !== "/app/*")!;
    // The mocks give a resource the id `<name>-id`.
    expect(delivery.cachePolicyId).toBe(`${policy.name}-id`);
    expect(cdn.defaultCacheBehavior.cachePolicyId).toBe(`${policy.name}-id`);
  });
});

describe.each(["prod", "dev"])("the state machine's looks for the early model (%s)", (env) => {
  test("list only the marker and the final model's folder of any job, in the processing bucket", () => {
    const doc = JSON.parse(one(runs[env]!, "aws:iam/rolePolicy:RolePolicy", "spaceport-states-policy").inputs["policy"] as string) as PolicyDocument;
    const looks = doc.Statement.filter((s) => s.Action.some((a) => a.startsWith("s3:")));
    const processing = runs[env]!.outputs["processingBucket"] as string;
    expect(looks).toEqual([
      {
        Sid: "LookForEarlyOutputs",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [`arn:aws:s3:::${processing}`],
        Condition: { StringLike: { "s3:prefix": ["jobs/????????-??????-????????/checkpoints/gaussian-splatting/early/model/_complete", "jobs/????????-??????-????????/model/"] } },
      },
    ]);
  });
});
