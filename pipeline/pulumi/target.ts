/**
 * The one place that turns deployed (or local) names into a `CompileTarget`. The Pulumi stack
 * calls it with resolved outputs; the local runtime calls it with its own names (or with a
 * deployed stack's `compileTarget` output). Equal inputs give a byte-identical ASL, because
 * only what the compiler reads is kept (unrelated settings such as `sesSender` cannot change it).
 *
 * No Pulumi imports here: the local runtime uses this without loading the Pulumi SDK.
 */
import { compile, type CompileTarget, type CompiledPipeline } from "../compile.js";
import type { Pipeline } from "../define.js";
import type { EnvironmentConfig } from "../environment.js";

export interface ResolvedNames {
  /** The processing bucket (`jobs/<jobId>/...`). */
  readonly bucket: string;
  /** ARN of each stage's SageMaker execution role, by stage name. */
  readonly roleArns: Readonly<Record<string, string>>;
  /** Image URI per stage name (`<repo>@sha256:<digest>` when deployed). */
  readonly images: Readonly<Record<string, string>>;
  /** ARN (or name) of the notify function. */
  readonly notifyFunction: string;
}

/** What of an environment's settings the compiler reads. */
export type TargetConfig = Pick<EnvironmentConfig, "region" | "quotas" | "instanceOverrides"> & Partial<Pick<EnvironmentConfig, "deliveryRetentionDays">>;

export function compileTargetFor(
  pipeline: Pipeline,
  environment: string,
  config: TargetConfig,
  names: ResolvedNames,
): CompileTarget {
  const stageNames = pipeline.stages.map((s) => s.name);
  for (const [what, perStage] of [["image URI", names.images], ["SageMaker role", names.roleArns]] as const) {
    const missing = stageNames.filter((name) => !perStage[name]);
    if (missing.length > 0) throw new Error(`compile target for "${environment}": no ${what} for stage(s) ${missing.join(", ")}`);
    const extra = Object.keys(perStage).filter((name) => !stageNames.includes(name));
    if (extra.length > 0) throw new Error(`compile target for "${environment}": ${what} for unknown stage(s) ${extra.join(", ")}`);
  }
  for (const [field, value] of Object.entries({ bucket: names.bucket, notifyFunction: names.notifyFunction })) {
    if (!value) throw new Error(`compile target for "${environment}": ${field} is empty`);
  }
  return {
    environment,
    config: {
      region: config.region,
      quotas: config.quotas.map((q) => ({ instanceType: q.instanceType, jobKind: q.jobKind, count: q.count })),
      instanceOverrides: { ...(config.instanceOverrides ?? {}) },
    },
    bucket: names.bucket,
    // Stage order, so the target's JSON is stable too.
    roleArns: Object.fromEntries(stageNames.map((name) => [name, names.roleArns[name]!])),
    images: Object.fromEntries(stageNames.map((name) => [name, names.images[name]!])),
    notifyFunction: names.notifyFunction,
    ...(config.deliveryRetentionDays !== undefined ? { linkDays: config.deliveryRetentionDays } : {}),
  };
}

/** `compile(pipeline, compileTargetFor(...))`: what the stack deploys and the local runtime runs. */
export function compileFor(
  pipeline: Pipeline,
  environment: string,
  config: TargetConfig,
  names: ResolvedNames,
): CompiledPipeline {
  return compile(pipeline, compileTargetFor(pipeline, environment, config, names));
}
