/**
 * `npm run describe -- --env prod`: what a deployment of the pipeline would run, for review
 * before `pulumi up` (like `cdk synth`): stages, instances, quota use, timeouts, cost, ASL.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  compile,
  effectiveInstance,
  estimateCost,
  formatDuration,
  formatUsd,
  quotaFor,
  readStackConfigFile,
  seconds,
  SPOT_DISCOUNT,
  type EnvironmentConfig,
  type Pipeline,
} from "../pipeline/index.js";
import { localTarget } from "../pipeline/local/target.js";
import { spaceport } from "./spaceport.js";
import { formatTable as table } from "../pipeline/format.js";

export function describe(pipeline: Pipeline, environment: string, config: EnvironmentConfig, showAsl: boolean): string {
  const compiled = compile(pipeline, localTarget(environment, config, pipeline));
  const cost = estimateCost(pipeline, config);
  const rows = [["stage", "job", "instance", "quota use", "timeout", "expected", "spot", "est. cost"]];
  for (const stage of pipeline.stages) {
    const instance = effectiveInstance(stage, config);
    const estimate = cost.stages.find((s) => s.stage === stage.name)!;
    rows.push([
      stage.name,
      stage.kind,
      `${instance.count} × ${instance.type}`,
      `${instance.count}/${quotaFor(config, instance.type, stage.kind) ?? 0}`,
      formatDuration(stage.timeout),
      formatDuration(seconds(estimate.expectedSeconds)),
      estimate.spot ? "yes" : "no",
      formatUsd(estimate.costUsd),
    ]);
  }
  rows.push(["total", "", "", "", "", formatDuration(seconds(cost.totalSeconds)), "", formatUsd(cost.totalUsd)]);
  const lines = [
    `Pipeline ${pipeline.name} · environment ${environment} · region ${config.region}`,
    "",
    table(rows),
    "",
    `Estimated cost per job: ${formatUsd(cost.totalUsd)} (on-demand us-west-2 prices; spot training at ${Math.round(100 * SPOT_DISCOUNT)}% off)`,
  ];
  if (showAsl) lines.push("", "State machine (ASL):", compiled.definitionJson);
  return lines.join("\n");
}

function main(): void {
  const { values } = parseArgs({
    options: { env: { type: "string", default: "prod" }, "no-asl": { type: "boolean", default: false }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log("usage: npm run describe -- [--env <name>] [--no-asl]\nReads Pulumi.<env>.yaml and prints stages, quota use, cost and the compiled ASL.");
    return;
  }
  const environment = values.env!;
  const file = resolve(import.meta.dirname, "..", `Pulumi.${environment}.yaml`);
  const config = readStackConfigFile(file, environment);
  console.log(describe(spaceport, environment, config, !values["no-asl"]));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    main();
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
