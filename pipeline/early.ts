/**
 * Early outputs: a training stage's `earlyOutputs` and the delivering stage's `earlyInputs` that
 * consume them. `definePipeline` checks the declarations here; the compiler, the cost model and
 * the IAM policies find each early run through `earlyRuns`.
 */
import type { OptionChoices } from "./expected-duration.js";
import type { EarlyOutput, JobOption, OutputRef, ProcessingStage, Stage, TrainingStage } from "./stage.js";

/** A stage run once more, as a preview, on the early version of its producer's output. */
export interface EarlyRun {
  readonly producer: TrainingStage;
  /** The producer's output that appears early (its early folder). */
  readonly output: string;
  readonly early: EarlyOutput;
  /** The stage that runs on it (the pipeline's delivering stage). */
  readonly consumer: ProcessingStage;
  /** The consumer's inputs that read the early version instead. */
  readonly inputs: readonly string[];
}

type Add = (stage: string, field: string, message: string) => void;

/** The pipeline's early runs (at most one: definePipeline allows one preview). */
export function earlyRuns(pipeline: { readonly stages: readonly Stage[] }): EarlyRun[] {
  const runs: EarlyRun[] = [];
  for (const consumer of pipeline.stages) {
    if (consumer.kind !== "processing") continue;
    const entries = Object.entries(consumer.earlyInputs ?? {});
    if (entries.length === 0) continue;
    const first = entries[0]![1];
    const producer = pipeline.stages.find((s): s is TrainingStage => s.kind === "training" && s.name === first.stage);
    const early = producer?.earlyOutputs[first.output];
    if (!producer || !early) continue;
    runs.push({ producer, output: first.output, early, consumer, inputs: entries.map(([name]) => name) });
  }
  return runs;
}

/** Whether the producer writes its early output for a job with these choices (`when`; an option not given takes its default). */
export function earlyRunExpected(run: EarlyRun, options: Readonly<Record<string, JobOption>>, choices: OptionChoices = {}): boolean {
  return Object.entries(run.early.when ?? {}).every(([name, values]) => values.includes(choices[name] ?? options[name]?.default ?? ""));
}

/** Every declaration of early outputs and inputs, with the field and a precise message for each mistake. */
export function checkEarly(stages: readonly Stage[], delivery: OutputRef, options: Readonly<Record<string, JobOption>>, add: Add): void {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const consumed = new Set<string>();
  for (const stage of stages) {
    checkEarlyOutputs(stage, options, add);
    checkEarlyInputs(stage, byName, delivery, add, consumed);
  }
  const consumers = stages.filter((s) => s.kind === "processing" && Object.keys(s.earlyInputs ?? {}).length > 0);
  if (consumers.length > 1) {
    for (const c of consumers.slice(1)) add(c.name, "earlyInputs", `only one stage may consume early outputs (one preview per job); "${consumers[0]!.name}" already does`);
  }
  for (const stage of stages) {
    if (stage.kind !== "training") continue;
    for (const output of Object.keys(stage.earlyOutputs ?? {})) {
      if (!consumed.has(`${stage.name}/${output}`) && (stage.outputs as readonly string[]).includes(output)) {
        add(stage.name, `earlyOutputs.${output}`, `no stage consumes it: give the delivering stage earlyInputs: { <input>: ${stage.name}.earlyOutput("${output}") }, or remove it`);
      }
    }
  }
}

function checkEarlyOutputs(stage: Stage, options: Readonly<Record<string, JobOption>>, add: Add): void {
  const declared = (stage as { earlyOutputs?: Readonly<Record<string, EarlyOutput>> }).earlyOutputs ?? {};
  if (stage.kind !== "training") {
    if (Object.keys(declared).length > 0) {
      add(stage.name, "earlyOutputs", "only training stages write early outputs (SageMaker copies a training job's checkpoint folder while it runs; a processing job uploads at its end)");
    }
    return;
  }
  for (const [output, early] of Object.entries(declared)) {
    const field = `earlyOutputs.${output}`;
    if (!(stage.outputs as readonly string[]).includes(output)) add(stage.name, field, `stage "${stage.name}" has no output "${output}" (outputs: ${stage.outputs.join(", ")})`);
    if (!(early.description?.trim().length > 0)) add(stage.name, `${field}.description`, "say what the early output is (e.g. \"the model after a tenth of the steps\")");
    if (!(early.pollEvery?.seconds > 0)) add(stage.name, `${field}.pollEvery`, "must be above zero");
    for (const [name, values] of Object.entries(early.when ?? {})) {
      const option = options[name];
      if (!option) add(stage.name, `${field}.when.${name}`, `no job option "${name}" (options: ${Object.keys(options).join(", ") || "none"})`);
      else if (!Array.isArray(values) || values.length === 0) add(stage.name, `${field}.when.${name}`, `list the values of "${name}" for which the stage writes it (one of ${option.values.join(", ")})`);
      else {
        for (const v of values) if (!option.values.includes(v)) add(stage.name, `${field}.when.${name}`, `"${v}" is not a value of "${name}" (values: ${option.values.join(", ")})`);
      }
    }
  }
}

function checkEarlyInputs(stage: Stage, byName: Map<string, Stage>, delivery: OutputRef, add: Add, consumed: Set<string>): void {
  const entries = Object.entries((stage as { earlyInputs?: Readonly<Record<string, unknown>> }).earlyInputs ?? {});
  if (entries.length === 0) return;
  if (stage.kind !== "processing") {
    add(stage.name, "earlyInputs", "only processing stages run on early inputs");
    return;
  }
  if (delivery?.stage !== stage.name) add(stage.name, "earlyInputs", "only the stage holding the pipeline's delivery runs on early inputs: its early run is the preview delivery");
  const producers = new Set<string>();
  for (const [input, value] of entries) {
    const field = `earlyInputs.${input}`;
    const ref = value as { kind?: unknown; stage?: unknown; output?: unknown };
    if (ref?.kind !== "early-output" || typeof ref.stage !== "string" || typeof ref.output !== "string") {
      add(stage.name, field, "must be another stage's early output: <stage>.earlyOutput(\"model\")");
      continue;
    }
    producers.add(ref.stage);
    const regular = stage.inputs[input];
    const producer = byName.get(ref.stage);
    if (ref.stage === stage.name) add(stage.name, field, "a stage cannot consume its own early output");
    else if (!producer) add(stage.name, field, `refers to stage "${ref.stage}", which is not in the pipeline`);
    else if (producer.kind !== "training" || !producer.earlyOutputs[ref.output]) {
      const declared = producer.kind === "training" ? Object.keys(producer.earlyOutputs) : [];
      add(stage.name, field, `stage "${ref.stage}" declares no early output "${ref.output}" (earlyOutputs: ${declared.join(", ") || "none"})`);
    } else if (!regular) add(stage.name, field, `"${input}" is not one of this stage's inputs (${Object.keys(stage.inputs).join(", ")}): an early input replaces an input with its early version`);
    else if (regular.kind !== "stage-output" || regular.stage !== ref.stage || regular.output !== ref.output) {
      const reads = regular.kind === "stage-output" ? `${regular.stage}'s "${regular.output}"` : "the job input";
      add(stage.name, field, `reads the early "${ref.output}" of "${ref.stage}", but inputs.${input} reads ${reads}: an early input must be the early version of that same input`);
    } else {
      consumed.add(`${ref.stage}/${ref.output}`);
      checkOtherInputs(stage, input, producer, byName, add);
    }
  }
  if (producers.size > 1) add(stage.name, "earlyInputs", `early inputs must all come from one stage (got ${[...producers].map((p) => `"${p}"`).join(", ")})`);
}

/** The early run starts while the producer runs: every other input must come from a stage that does not wait for it. */
function checkOtherInputs(stage: ProcessingStage, earlyInput: string, producer: Stage, byName: Map<string, Stage>, add: Add): void {
  for (const [name, ref] of Object.entries(stage.inputs)) {
    if (name === earlyInput || ref.kind !== "stage-output" || ref.stage === producer.name) continue;
    if (dependsOn(byName.get(ref.stage), producer.name, byName, new Set())) {
      add(stage.name, `earlyInputs.${earlyInput}`, `inputs.${name} comes from stage "${ref.stage}", which runs after "${producer.name}": the early run starts while "${producer.name}" still runs, so its other inputs must come from stages before it`);
    }
  }
}

function dependsOn(stage: Stage | undefined, target: string, byName: Map<string, Stage>, seen: Set<string>): boolean {
  if (!stage || seen.has(stage.name)) return false;
  seen.add(stage.name);
  return Object.values(stage.inputs).some((r) => r.kind === "stage-output" && (r.stage === target || dependsOn(byName.get(r.stage), target, byName, seen)));
}
