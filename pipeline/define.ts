/**
 * `definePipeline`: checks a list of stages as a whole (names, references, cycles, limits)
 * and fixes their order. Environment-specific checks (quotas) run in `validateForEnvironment`.
 */
import { PipelineValidationError, type PipelineIssue } from "./errors.js";
import {
  INSTANCE_TYPES,
  MAX_RUNTIME_SECONDS,
  VOLUME_SIZE_GB,
  isInstanceType,
  supportsJobKind,
  type InstanceType,
} from "./instances.js";
import type { EnvironmentConfig } from "./environment.js";
import { quotaName, quotaRequestHint, stageCapacity } from "./quotas.js";
import { JOB_FOLDERS } from "./layout.js";
import { checkEarly } from "./early.js";
import type { JobOption, OutputRef, Stage } from "./stage.js";

export interface Pipeline<S extends readonly Stage[] = readonly Stage[]> {
  readonly name: string;
  /** Stages in execution order (a topological order of their references). */
  readonly stages: S;
  /** The output that is delivered to the customer (success email link). */
  readonly delivery: OutputRef;
  /** Per-job options, collected from the stages' hyperparameters. */
  readonly options: Readonly<Record<string, JobOption>>;
}

/** Stage names double as S3 prefixes and SageMaker job-name parts. */
export const STAGE_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const MAX_STAGE_NAME_LENGTH = 32;
/** Prefixes the job layout already uses for other things. */
const RESERVED_STAGE_NAMES = new Set<string>([...Object.values(JOB_FOLDERS), "logs"]);

type StageNames<S extends readonly Stage[]> = S[number]["name"];

export function definePipeline<const S extends readonly Stage[]>(definition: {
  name: string;
  stages: S;
  delivery: OutputRef<StageNames<S>>;
}): Pipeline<S> {
  const issues: PipelineIssue[] = [];
  const add = (stage: string, field: string, message: string) => issues.push({ stage, field, message });

  if (!/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(definition.name)) {
    add("(pipeline)", "name", "must start with a letter and hold only letters, digits and dashes (at most 63)");
  }
  if (definition.stages.length === 0) add("(pipeline)", "stages", "a pipeline needs at least one stage");

  const byName = new Map<string, Stage>();
  for (const stage of definition.stages) {
    if (byName.has(stage.name)) add(stage.name, "name", "duplicate stage name");
    byName.set(stage.name, stage);
  }

  for (const stage of definition.stages) checkStage(stage, byName, add);

  const options = collectOptions(definition.stages, add);
  checkDelivery(definition.delivery, byName, add);
  checkEarly(definition.stages, definition.delivery, options, add);
  checkUnusedOutputs(definition.stages, definition.delivery, add);
  const order = issues.length === 0 ? topologicalOrder(definition.stages, add) : [...definition.stages];

  if (issues.length > 0) throw new PipelineValidationError(definition.name, issues);
  return Object.freeze({
    name: definition.name,
    stages: Object.freeze(order) as unknown as S,
    delivery: definition.delivery,
    options: Object.freeze(options),
  });
}

function checkStage(stage: Stage, byName: Map<string, Stage>, add: (s: string, f: string, m: string) => void): void {
  const name = stage.name;
  if (!STAGE_NAME.test(name) || name.length > MAX_STAGE_NAME_LENGTH) {
    add(name, "name", `must be lowercase letters and digits separated by single dashes, at most ${MAX_STAGE_NAME_LENGTH} characters`);
  }
  if (RESERVED_STAGE_NAMES.has(name)) add(name, "name", `"${name}" is reserved for the job layout`);

  if (!stage.image || typeof stage.image.directory !== "string") {
    add(name, "image", "missing image: use image(\"images/<name>\")");
  }

  const type = stage.instance.type as string;
  if (!isInstanceType(type)) {
    add(name, "instance.type", `unknown SageMaker instance type "${type}" (known: ${Object.keys(INSTANCE_TYPES).join(", ")})`);
  } else if (!supportsJobKind(type, stage.kind)) {
    add(name, "instance.type", `${type} is not available for ${stage.kind} jobs`);
  }
  if (!Number.isInteger(stage.instance.count) || stage.instance.count < 1) {
    add(name, "instance.count", `must be a whole number of at least 1, got ${stage.instance.count}`);
  }
  const volume = stage.instance.volumeSizeGb;
  if (!Number.isInteger(volume) || volume < VOLUME_SIZE_GB.min || volume > VOLUME_SIZE_GB.max) {
    add(name, "instance.volumeSizeGb", `must be a whole number from ${VOLUME_SIZE_GB.min} to ${VOLUME_SIZE_GB.max} GB, got ${volume}`);
  }

  const limit = MAX_RUNTIME_SECONDS[stage.kind];
  if (!(stage.timeout?.seconds > 0)) add(name, "timeout", "every stage needs a timeout above zero");
  else if (stage.timeout.seconds > limit) {
    add(name, "timeout", `${stage.timeout.seconds} s is above SageMaker's limit of ${limit} s for ${stage.kind} jobs`);
  }

  if (stage.kind === "training" && stage.spot) {
    if (stage.spot.maxWait.seconds < stage.timeout.seconds) {
      add(name, "spot.maxWait", `must be at least the timeout (${stage.timeout.seconds} s): SageMaker requires MaxWaitTimeInSeconds >= MaxRuntimeInSeconds`);
    }
    if (stage.spot.maxWait.seconds > limit) {
      add(name, "spot.maxWait", `${stage.spot.maxWait.seconds} s is above SageMaker's limit of ${limit} s`);
    }
  }
  if (stage.kind === "processing" && (stage as { spot?: unknown }).spot !== undefined) {
    add(name, "spot", "managed spot exists for training jobs only; processing jobs have none");
  }

  const inputNames = Object.keys(stage.inputs);
  if (inputNames.length === 0) add(name, "inputs", "a stage needs at least one input (jobInput() or another stage's output)");
  for (const [inputName, ref] of Object.entries(stage.inputs)) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,63}$/.test(inputName)) {
      add(name, `inputs.${inputName}`, "input names must be letters, digits and dashes (SageMaker channel/input name rules)");
    }
    if (ref.kind !== "stage-output") continue;
    const source = byName.get(ref.stage);
    if (!source) add(name, `inputs.${inputName}`, `refers to stage "${ref.stage}", which is not in the pipeline`);
    else if (ref.stage === name) add(name, `inputs.${inputName}`, "a stage cannot read its own output");
    else if (!(source.outputs as readonly string[]).includes(ref.output)) {
      add(name, `inputs.${inputName}`, `stage "${ref.stage}" has no output "${ref.output}" (outputs: ${source.outputs.join(", ")})`);
    }
  }

  if (stage.outputs.length === 0) add(name, "outputs", "a stage needs at least one output");
  for (const output of stage.outputs) {
    if (!STAGE_NAME.test(output)) add(name, `outputs.${output}`, "output names must be lowercase letters, digits and dashes");
  }
  if (stage.networkAccess !== undefined && !(typeof stage.networkAccess.reason === "string" && stage.networkAccess.reason.trim().length > 0)) {
    add(name, "networkAccess.reason", "say why the stage needs the network (jobs run network-isolated otherwise)");
  }
  for (const key of Object.keys(stage.environment)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) add(name, `environment.${key}`, "not a valid environment variable name");
  }
}

function collectOptions(stages: readonly Stage[], add: (s: string, f: string, m: string) => void): Record<string, JobOption> {
  const options: Record<string, JobOption> = {};
  for (const stage of stages) {
    if (stage.kind !== "training") continue;
    for (const [key, value] of Object.entries(stage.hyperparameters)) {
      if (typeof value !== "object" || value.kind !== "job-option") continue;
      const existing = options[value.name];
      if (existing && existing !== value) {
        add(stage.name, `hyperparameters.${key}`, `job option "${value.name}" is defined twice with different values`);
      }
      options[value.name] = value;
    }
  }
  return options;
}

function checkDelivery(delivery: OutputRef, byName: Map<string, Stage>, add: (s: string, f: string, m: string) => void): void {
  const stage = byName.get(delivery?.stage);
  if (!stage) add("(pipeline)", "delivery", `refers to stage "${delivery?.stage}", which is not in the pipeline`);
  else if (!(stage.outputs as readonly string[]).includes(delivery.output)) add("(pipeline)", "delivery", `stage "${stage.name}" has no output "${delivery.output}"`);
  for (const other of byName.values()) {
    const links = other.kind === "processing" ? Object.entries(other.links) : [];
    if (links.length > 0 && other !== stage) add(other.name, "links", "only the stage holding the pipeline's delivery links to files");
    for (const [name, file] of links) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(file)) add(other.name, `links.${name}`, `"${file}" must be a relative file path inside the output`);
    }
  }
}

/** Files of the delivery a finished job links to, by link name (the delivering stage's `links`). */
export function deliveryLinks(pipeline: Pick<Pipeline, "stages" | "delivery">): Readonly<Record<string, string>> {
  const stage = pipeline.stages.find((s) => s.name === pipeline.delivery.stage);
  return stage?.kind === "processing" ? stage.links : {};
}

function checkUnusedOutputs(stages: readonly Stage[], delivery: OutputRef, add: (s: string, f: string, m: string) => void): void {
  const consumed = new Set<string>([`${delivery?.stage}/${delivery?.output}`]);
  for (const stage of stages) {
    for (const ref of Object.values(stage.inputs)) if (ref.kind === "stage-output") consumed.add(`${ref.stage}/${ref.output}`);
  }
  for (const stage of stages) {
    if (!stage.outputs.some((o) => consumed.has(`${stage.name}/${o}`))) {
      add(stage.name, "outputs", "no stage reads this stage's outputs and it is not the delivery: it would run for nothing");
    }
  }
}

/** Kahn's algorithm, stable in declaration order; reports the stages on a cycle. */
function topologicalOrder(stages: readonly Stage[], add: (s: string, f: string, m: string) => void): Stage[] {
  const remaining = new Map(stages.map((s) => [s.name, s]));
  const done = new Set<string>();
  const order: Stage[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining.values()].find((s) =>
      Object.values(s.inputs).every((ref) => ref.kind !== "stage-output" || done.has(ref.stage)),
    );
    if (!ready) {
      const cycle = [...remaining.keys()];
      for (const name of cycle) add(name, "inputs", `part of a reference cycle between stages ${cycle.map((n) => `"${n}"`).join(", ")}`);
      return [...stages];
    }
    order.push(ready);
    done.add(ready.name);
    remaining.delete(ready.name);
  }
  return order;
}

/** Effective instance of a stage in an environment (after that environment's overrides). */
export function effectiveInstance(stage: Stage, config: Pick<EnvironmentConfig, "instanceOverrides">) {
  const override = config.instanceOverrides?.[stage.name] ?? {};
  return {
    type: (override.type ?? stage.instance.type) as InstanceType,
    count: override.count ?? stage.instance.count,
    volumeSizeGb: stage.instance.volumeSizeGb,
  };
}

/**
 * Checks the pipeline against one environment: quotas and overrides. A quota that is missing
 * or 0 fails here, naming the quota as AWS spells it and how to request it: a job would
 * otherwise wait on ResourceLimitExceeded for a day and then fail.
 */
export function validateForEnvironment(
  pipeline: Pipeline,
  environment: string,
  config: Pick<EnvironmentConfig, "quotas" | "instanceOverrides"> & { readonly region?: string },
): void {
  const issues: PipelineIssue[] = [];
  const names = new Set(pipeline.stages.map((s) => s.name));
  for (const overridden of Object.keys(config.instanceOverrides ?? {})) {
    if (!names.has(overridden)) {
      issues.push({ stage: overridden, field: "instanceOverrides", message: `environment "${environment}" overrides a stage that is not in the pipeline` });
    }
  }
  for (const stage of pipeline.stages) {
    const { type, count } = effectiveInstance(stage, config);
    if (!supportsJobKind(type, stage.kind)) {
      issues.push({ stage: stage.name, field: "instance.type", message: `${type} is not available for ${stage.kind} jobs` });
      continue;
    }
    const { quota, quotaKind } = stageCapacity(stage, type, config);
    const name = `"${quotaName(type, quotaKind)}"`;
    const hint = quotaRequestHint(type, quotaKind, config.region ?? "<region>");
    if (quota === undefined || quota === 0) {
      const spotNote = quotaKind === "spot-training" ? " (or remove that spot-training entry: the stage then runs on demand)" : "";
      issues.push({
        stage: stage.name,
        field: "instance.type",
        message:
          `${type} has no ${quotaKind.replace("-", " ")} job quota in environment "${environment}": the SageMaker quota ${name} is ` +
          `${quota === 0 ? "0" : "not listed"} (approved: ${describeQuotas(config.quotas)}); ${hint}${spotNote}`,
      });
    } else if (count > quota) {
      issues.push({
        stage: stage.name,
        field: "instance.count",
        message: `${count} × ${type} is above environment "${environment}"'s ${quotaKind.replace("-", " ")} quota of ${quota} (${name}); ${hint}`,
      });
    }
  }
  if (issues.length > 0) throw new PipelineValidationError(pipeline.name, issues);
}

function describeQuotas(quotas: EnvironmentConfig["quotas"]): string {
  if (quotas.length === 0) return "none";
  return quotas.map((q) => `${q.count} × ${q.instanceType} ${q.jobKind}`).join(", ");
}
