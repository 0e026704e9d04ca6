/**
 * PipelineStack's sub-components under Pulumi's mocks: each is there once, its resources keep
 * the logical names they had before the stack was split, and each `transform` hook reaches the
 * resources it names (an object is merged into the args, a function edits them).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import { environmentFromPulumiConfig } from "../../pipeline/pulumi/config.js";
import { readStackConfig, runUnderMocks, type MockedRun } from "../../pipeline/pulumi/mocks.js";
import { PipelineStack } from "../../pipeline/pulumi/stack.js";
import { spaceport } from "../../stages/spaceport.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let run: MockedRun;

beforeAll(async () => {
  const program = () => {
    const config = environmentFromPulumiConfig("dev", pulumi.runtime.allConfig());
    const stack = new PipelineStack("spaceport", {
      pipeline: spaceport,
      environment: "dev",
      config,
      root: ROOT,
      functions: { startJob: "stages/lambda/start-job.ts", jobStatus: "stages/lambda/job-status.ts", notify: "stages/lambda/notify.ts", uploads: "stages/lambda/uploads.ts", cancel: "stages/lambda/cancel.ts", retry: "stages/lambda/retry.ts" },
      apiState: [],
      transform: {
        bucket: (args, _opts, name) => {
          args.forceDestroy = name.endsWith("-uploads");
        },
        function: { memorySize: 1024 },
        alarm: (args) => {
          args.threshold = 2;
        },
        stateMachine: (args) => {
          args.type = "EXPRESS";
        },
      },
    });
    return { apiUrl: stack.apiUrl };
  };
  run = await runUnderMocks({ load: async () => ({ default: program }), environment: "dev", config: readStackConfig(join(ROOT, "Pulumi.dev.yaml"), "dev") });
}, 90_000);

const named = (type: string) => run.resources.filter((r) => r.type === type);

test("one of each sub-component, under the names the stack gives them", () => {
  const components = run.resources.filter((r) => r.type.startsWith("spaceport:pipeline:")).map((r) => `${r.type} ${r.name}`).sort();
  expect(components).toEqual([
    "spaceport:pipeline:JobAlarms spaceport-alarms",
    "spaceport:pipeline:JobApi spaceport-api",
    "spaceport:pipeline:JobDelivery spaceport-delivery",
    "spaceport:pipeline:JobFunctions spaceport-functions",
    "spaceport:pipeline:JobPage spaceport-page",
    "spaceport:pipeline:JobSignIn spaceport-sign-in",
    "spaceport:pipeline:JobStateMachine spaceport-state-machine",
    "spaceport:pipeline:JobStorage spaceport-storage",
    "spaceport:pipeline:PipelineStack spaceport",
    "spaceport:pipeline:StageImages spaceport-images",
  ]);
  // The resources themselves keep their names from before the split.
  expect(named("aws:s3/bucket:Bucket").map((r) => r.name).sort()).toEqual(["spaceport-page", "spaceport-processing", "spaceport-uploads"]);
  expect(named("aws:sfn/stateMachine:StateMachine").map((r) => r.name)).toEqual(["spaceport-states"]);
});

test("transform hooks: a function edits the args of each resource it names, an object is merged in", () => {
  const buckets = Object.fromEntries(named("aws:s3/bucket:Bucket").map((r) => [r.name, r.inputs["forceDestroy"]]));
  expect(buckets).toEqual({ "spaceport-uploads": true, "spaceport-processing": false, "spaceport-page": false });
  const functions = named("aws:lambda/function:Function");
  expect(functions).toHaveLength(7);
  for (const fn of functions) expect(fn.inputs["memorySize"]).toBe(1024);
  const alarms = named("aws:cloudwatch/metricAlarm:MetricAlarm");
  expect(alarms).toHaveLength(8); // failed and timed-out jobs; notify, start-job, job-status, uploads, cancel and retry errors
  for (const alarm of alarms) expect(alarm.inputs["threshold"]).toBe(2);
  expect(named("aws:sfn/stateMachine:StateMachine")[0]!.inputs["type"]).toBe("EXPRESS");
  // Untouched by any transform: what the stack sets.
  expect(named("aws:apigatewayv2/api:Api")[0]!.inputs["protocolType"]).toBe("HTTP");
});
