/**
 * One compile, two runtimes: the definition the local runtime executes is byte for byte the
 * one the Pulumi stack deploys (index.ts under Pulumi's mocks, given the stack's own
 * `compileTarget` output) and, with local names, the one `npm run describe` prints.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readStackConfigFile } from "../../pipeline/environment.js";
import { readStackConfig, runUnderMocks } from "../../pipeline/pulumi/mocks.js";
import { LocalRuntime } from "../../pipeline/local/runtime.js";
import { localTarget, readTargetFile } from "../../pipeline/local/target.js";
import { describe as describePipeline } from "../../stages/describe.js";
import { spaceport } from "../../stages/spaceport.js";
import { writeFileSync } from "node:fs";
import { tempDir } from "./fixtures.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

function runtimeFor(environment: string, names?: Parameters<typeof localTarget>[3]) {
  const config = readStackConfigFile(join(ROOT, `Pulumi.${environment}.yaml`), environment);
  return new LocalRuntime({
    dataDir: join(tempDir("asl"), "data"),
    environment,
    config,
    pipeline: spaceport,
    target: localTarget(environment, config, spaceport, names),
    notify: async () => ({}),
  });
}

describe("the ASL run locally", () => {
  it.each(["prod", "dev"])("%s: is the one the Pulumi stack deploys", async (environment) => {
    const run = await runUnderMocks({
      load: () => import("../../index.js"),
      environment,
      config: readStackConfig(join(ROOT, `Pulumi.${environment}.yaml`), environment),
    });
    const machines = run.resources.filter((r) => r.type === "aws:sfn/stateMachine:StateMachine");
    expect(machines).toHaveLength(1);
    const deployed = machines[0]!.inputs["definition"] as string;
    // What `pulumi stack output compileTarget > target.json` gives a developer.
    const file = join(tempDir("target"), "target.json");
    writeFileSync(file, JSON.stringify(run.outputs["compileTarget"]));
    const { environment: env, names } = readTargetFile(file);
    expect(env).toBe(environment);
    const runtime = runtimeFor(environment, names);
    try {
      expect(runtime.executions.definitionJson).toBe(deployed);
    } finally {
      await runtime.close();
    }
  }, 90_000);

  it("with local names, is the one `npm run describe` prints", async () => {
    const runtime = runtimeFor("prod");
    try {
      const printed = describePipeline(spaceport, "prod", runtime.config, true);
      const asl = printed.slice(printed.indexOf("State machine (ASL):\n") + "State machine (ASL):\n".length);
      expect(runtime.executions.definitionJson).toBe(asl);
      // Never rewritten for the local run: every Task keeps its AWS resource; handlers are overrides.
      // The Parallel's branches too (the training stage and the compressor's preview beside it).
      type State = { Type: string; Resource?: string; Branches?: { States: Record<string, State> }[] };
      const tasks = (states: Record<string, State>): string[] =>
        Object.values(states).flatMap((s) => (s.Type === "Task" ? [s.Resource!] : (s.Branches ?? []).flatMap((b) => tasks(b.States))));
      expect(tasks(JSON.parse(runtime.executions.definitionJson).States as Record<string, State>)).toEqual([
        "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "arn:aws:states:::sagemaker:createTrainingJob.sync",
        "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        "arn:aws:states:::aws-sdk:s3:listObjectsV2",
        "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::sagemaker:createProcessingJob.sync",
        "arn:aws:states:::lambda:invoke",
        "arn:aws:states:::lambda:invoke",
      ]);
    } finally {
      await runtime.close();
    }
  });
});
