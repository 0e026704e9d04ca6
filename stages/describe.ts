/**
 * `npm run describe -- --env prod`: what a deployment of the pipeline would run, for review
 * before `pulumi up` (like `cdk synth`): stages, instances, quota use, timeouts, cost, ASL.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  admissionLimit,
  compile,
  dailyCapacity,
  effectiveInstance,
  estimateCost,
  formatDuration,
  formatUsd,
  quotaName,
  readStackConfigFile,
  stageCapacity,
  seconds,
  SPOT_DISCOUNT,
  type EnvironmentConfig,
  type Pipeline,
} from "../pipeline/index.js";
import { localTarget } from "../pipeline/local/target.js";
import { earlyRuns } from "../pipeline/early.js";
import { spaceport } from "./spaceport.js";
import { formatTable as table } from "../pipeline/format.js";

export function describe(pipeline: Pipeline, environment: string, config: EnvironmentConfig, showAsl: boolean): string {
  const compiled = compile(pipeline, localTarget(environment, config, pipeline));
  const cost = estimateCost(pipeline, config);
  const rows = [["stage", "job", "instance", "quota use", "timeout", "expected", "spot", "est. cost"]];
  const notes: string[] = [];
  for (const stage of pipeline.stages) {
    const instance = effectiveInstance(stage, config);
    const estimate = cost.stages.find((s) => s.stage === stage.name)!;
    const capacity = stageCapacity(stage, instance.type, config);
    rows.push([
      stage.name,
      stage.kind,
      `${instance.count} × ${instance.type}`,
      `${instance.count}/${capacity.quota ?? 0} (${capacity.quotaKind})`,
      formatDuration(stage.timeout),
      formatDuration(seconds(estimate.expectedSeconds)),
      estimate.spot ? "yes" : estimate.spotFallback ? "on demand*" : "no",
      formatUsd(estimate.costUsd),
    ]);
    if (estimate.spotFallback) {
      notes.push(
        `* ${stage.name} asks for managed spot, but environment ${environment} lists no "${quotaName(instance.type, "spot-training")}" quota: ` +
          `it runs on demand, ${formatUsd(estimate.costUsd - estimate.spotCostUsd)} a job more than on spot (${formatUsd(estimate.costUsd)} vs ${formatUsd(estimate.spotCostUsd)}). ` +
          `Add { instanceType: ${instance.type}, jobKind: spot-training, count: <n> } to spaceport:quotas once AWS approves it.`,
      );
    }
  }
  for (const preview of cost.stages.filter((s) => s.preview)) {
    rows.push([preview.stage, "processing", `${preview.count} × ${preview.instanceType}`, "", "", `(${formatDuration(seconds(preview.expectedSeconds))})`, "no", formatUsd(preview.costUsd)]);
  }
  rows.push(["total", "", "", "", "", formatDuration(seconds(cost.totalSeconds)), "", formatUsd(cost.totalUsd)]);
  for (const run of earlyRuns(pipeline)) {
    const when = Object.entries(run.early.when ?? {}).map(([option, values]) => ` for ${option} ${values.join(", ")}`).join("");
    notes.push(
      `Early output: ${run.producer.name} writes its early ${run.output} (${run.early.description})${when}; ${run.consumer.name} runs on it as soon as it appears ` +
        `and delivers a preview at the same links, replaced by the final delivery. The preview run is extra cost; its time (in brackets) overlaps ${run.producer.name}'s.`,
    );
  }
  const capacity = dailyCapacity(pipeline, config);
  const admission = admissionLimit(pipeline, config);
  const lines = [
    `Pipeline ${pipeline.name} · environment ${environment} · region ${config.region}`,
    "",
    table(rows),
    ...(notes.length > 0 ? ["", ...notes] : []),
    "",
    `Estimated cost per job: ${formatUsd(cost.totalUsd)} (on-demand us-west-2 prices; spot training at ${Math.round(100 * SPOT_DISCOUNT)}% off)` +
      ` at the options' defaults (${Object.values(pipeline.options).map((o) => `${o.name} ${o.default}`).join(", ")})`,
    ...byOptionLines(pipeline, config),
    `Capacity: ${capacity.jobsPerDay} jobs a day` +
      (capacity.bottleneck
        ? ` (${capacity.bottleneck.instances} × "${capacity.bottleneck.quota}" × 24 h ÷ ${formatDuration(seconds(capacity.bottleneck.instanceSecondsPerJob))} a job, stage ${capacity.bottleneck.stages.join(", ")})`
        : ""),
    `Admission: ${admission.jobsPerDay} jobs per API client per day` +
      (admission.loweredFrom !== undefined ? ` (spaceport:apiRateLimit.jobsPerDay ${admission.loweredFrom} is above capacity)` : "") +
      "; a submitter is warned when the jobs ahead are more than a day of work",
  ];
  if (showAsl) lines.push("", "State machine (ASL):", compiled.definitionJson);
  return lines.join("\n");
}

/** A line per job option: each value's total time and cost (the others at their defaults). */
function byOptionLines(pipeline: Pipeline, config: EnvironmentConfig): string[] {
  return Object.values(pipeline.options).map((o) => {
    const each = o.values.map((value) => {
      const c = estimateCost(pipeline, config, { choices: { [o.name]: value } });
      return `${value} ${formatDuration(seconds(c.totalSeconds))} ${formatUsd(c.totalUsd)}`;
    });
    return `By ${o.name}: ${each.join(" · ")}`;
  });
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
