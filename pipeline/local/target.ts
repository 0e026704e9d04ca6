/**
 * What the local runtime compiles for. One function makes every compile target
 * (pipeline/pulumi/target.ts `compileTargetFor`): the stack calls it with its deployed names,
 * the local runtime with local names — the same placeholders `npm run describe` shows — or with
 * a deployed stack's own names (`pulumi stack output compileTarget`, `--target FILE`), in which
 * case the ASL run locally is byte for byte the one deployed.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CompileTarget } from "../compile.js";
import type { Pipeline } from "../define.js";
import { readStackConfigFile, type EnvironmentConfig } from "../environment.js";
import { compileTargetFor, type ResolvedNames } from "../pulumi/target.js";

/**
 * Local names of an environment, also what `npm run describe` shows before a deploy: real
 * names are only known after `pulumi up`, so these are stable placeholders in AWS's shapes.
 */
export function localNames(environment: string, config: EnvironmentConfig, pipeline: Pipeline): ResolvedNames {
  return {
    bucket: `spaceport-${environment}-processing`,
    roleArns: Object.fromEntries(pipeline.stages.map((s) => [s.name, `arn:aws:iam::123456789012:role/spaceport-${environment}-${s.name}-sagemaker`])),
    images: Object.fromEntries(
      pipeline.stages.map((s) => [s.name, `123456789012.dkr.ecr.${config.region}.amazonaws.com/spaceport-${environment}-${s.name}:latest`]),
    ),
    notifyFunction: `arn:aws:lambda:${config.region}:123456789012:function:spaceport-${environment}-notify`,
  };
}

export function localTarget(environment: string, config: EnvironmentConfig, pipeline: Pipeline, names?: ResolvedNames): CompileTarget {
  return compileTargetFor(pipeline, environment, config, names ?? localNames(environment, config, pipeline));
}

/** A stack's `compileTarget` output (`{ environment, names }`), as `pulumi stack output compileTarget` prints it. */
export function readTargetFile(path: string): { environment: string; names: ResolvedNames } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
    // `pulumi stack output --json` wraps the string output in quotes once more.
    if (typeof parsed === "string") parsed = JSON.parse(parsed);
  } catch (error) {
    throw new Error(`--target ${path}: not the JSON of a stack's compileTarget output (${(error as Error).message})`);
  }
  const value = parsed as { environment?: unknown; names?: Partial<ResolvedNames> };
  const names = value?.names;
  if (typeof value?.environment !== "string" || !names || typeof names.bucket !== "string" || !names.roleArns || typeof names.roleArns !== "object" || typeof names.notifyFunction !== "string" || !names.images || typeof names.images !== "object") {
    throw new Error(`--target ${path}: expected { "environment": "...", "names": { "bucket", "roleArns", "images", "notifyFunction" } }`);
  }
  return { environment: value.environment, names: names as ResolvedNames };
}

/** Bucket names of a target, locally (folders under `<data>/buckets/`). */
export function localBuckets(target: CompileTarget): { processing: string; uploads: string } {
  return { processing: target.bucket, uploads: `spaceport-${target.environment}-uploads` };
}

/** `Pulumi.<env>.yaml` at the repository root (or an explicit file). */
export function readEnvironment(repoRoot: string, environment: string, file?: string): EnvironmentConfig {
  return readStackConfigFile(file ?? resolve(repoRoot, `Pulumi.${environment}.yaml`), environment);
}
