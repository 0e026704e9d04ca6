/**
 * What the local runtime compiles for: the same target `npm run describe` shows for an
 * environment (stages/describe.ts `previewTarget`), so the ASL run locally is byte for byte the
 * one printed for review, and the same `compile` the stack deploys with.
 */
import { resolve } from "node:path";
import { compile, type CompileTarget, type CompiledPipeline } from "../compile.js";
import type { Pipeline } from "../define.js";
import { readStackConfigFile, type EnvironmentConfig } from "../environment.js";
import { previewTarget } from "../../stages/describe.js";

export function localTarget(environment: string, config: EnvironmentConfig, pipeline: Pipeline): CompileTarget {
  return previewTarget(environment, config, pipeline);
}

/** Bucket names of an environment, locally (folders under `<data>/buckets/`). */
export function localBuckets(target: CompileTarget): { processing: string; uploads: string } {
  return { processing: target.bucket, uploads: `spaceport-${target.environment}-uploads` };
}

export function compileLocal(environment: string, config: EnvironmentConfig, pipeline: Pipeline): CompiledPipeline {
  return compile(pipeline, localTarget(environment, config, pipeline));
}

/** `Pulumi.<env>.yaml` at the repository root (or an explicit file). */
export function readEnvironment(repoRoot: string, environment: string, file?: string): EnvironmentConfig {
  return readStackConfigFile(file ?? resolve(repoRoot, `Pulumi.${environment}.yaml`), environment);
}
