/**
 * Early outputs in the compiler: the ASL shape of a pipeline whose training stage has an early
 * output the delivering stage consumes (a Parallel: training | bounded looks → preview run →
 * preview email), the same definition as before for a pipeline without one, the declaration
 * checks of definePipeline, and the compiled machine run in aws-local-stepfunctions.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "@jest/globals";
import aslValidator from "asl-validator";
import { StateMachine } from "aws-local-stepfunctions";
import type { CreateProcessingJobRequest } from "@aws-sdk/client-sagemaker";
import {
  compile,
  definePipeline,
  image,
  jobInput,
  processingStage,
  seconds,
  trainingStage,
  type AslState,
  type CompileTarget,
  type Pipeline,
} from "../../pipeline/index.js";
import { EARLY_STATE, MAX_EARLY_POLLS } from "../../pipeline/compile-early.js";
import { earlyRuns } from "../../pipeline/early.js";
import { quality, testConfig, testPipeline } from "../local/fixtures.js";
import { spaceport } from "../../stages/spaceport.js";

type JSONValue = Parameters<StateMachine["run"]>[0];
// The stage scripts are written here; none of their paths reaches the compiled definition.
const DIR = mkdtempSync(join(tmpdir(), "spaceport-early-"));

function targetFor(pipeline: Pipeline): CompileTarget {
  return {
    environment: "test",
    config: testConfig(),
    bucket: "spaceport-test-processing",
    roleArns: Object.fromEntries(pipeline.stages.map((s) => [s.name, `arn:aws:iam::123456789012:role/${s.name}`])),
    images: Object.fromEntries(pipeline.stages.map((s) => [s.name, `123456789012.dkr.ecr.us-west-2.amazonaws.com/${s.name}:test`])),
    notifyFunction: "arn:aws:lambda:us-west-2:123456789012:function:notify",
  };
}

const early = testPipeline(DIR, {}, { early: true });
const compiled = compile(early, targetFor(early));
const states = compiled.definition.States;
const run = earlyRuns(early)[0]!;
const parallel = states[EARLY_STATE.parallel(run)] as Extract<AslState, { Type: "Parallel" }>;

describe("compile: an early output", () => {
  it("a pipeline without early outputs compiles exactly as before (the definition from before the feature)", () => {
    const plain = testPipeline(DIR);
    const golden = readFileSync(join(import.meta.dirname, "golden", "no-early-outputs.asl.json"), "utf8");
    expect(compile(plain, targetFor(plain)).definitionJson + "\n").toBe(golden);
    expect(compile(plain, targetFor(plain)).definitionJson).not.toContain("Parallel");
  });

  it("is valid ASL: a Parallel whose first branch is the training stage, the second the bounded looks and the preview", () => {
    const { isValid, errors } = aslValidator(JSON.parse(compiled.definitionJson));
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
    expect((states["Run prep"] as { Next: string }).Next).toBe("Run train and an early pack");
    expect(parallel.Next).toBe("Prepare pack");
    expect(parallel.OutputPath).toBe("$[0]");
    const [training, preview] = parallel.Branches;
    expect(training!.StartAt).toBe("Prepare train");
    expect(Object.keys(training!.States)).toEqual(expect.arrayContaining(["Run train", "Check train failure", "Record train failure", "Fail train branch"]));
    expect(preview!.StartAt).toBe("Start looking for early model");
    expect(Object.keys(preview!.States)).toEqual([
      "Start looking for early model", "Wait for early model", "Look for early model", "Look for final model", "Early model ready?",
      "Count looks for early model", "Prepare pack preview", "Run pack preview", "Notify preview", "Record pack preview failure", "No preview", "Preview done",
    ]);
  });

  it("looks for the marker and for the final model, and stops after a bounded number of looks", () => {
    const branch = parallel.Branches[1]!.States;
    const look = branch["Look for early model"] as { Resource: string; Parameters: Record<string, unknown> };
    expect(look.Resource).toBe("arn:aws:states:::aws-sdk:s3:listObjectsV2");
    expect(look.Parameters).toEqual({ Bucket: "spaceport-test-processing", "Prefix.$": "States.Format('jobs/{}/checkpoints/train/early/model/_complete', $.jobId)", MaxKeys: 1 });
    expect((branch["Look for final model"] as { Parameters: Record<string, unknown> }).Parameters["Prefix.$"]).toBe("States.Format('jobs/{}/model/', $.jobId)");
    const choice = branch["Early model ready?"] as { Choices: { Variable: string; Next: string; NumericGreaterThanEquals?: number }[]; Default: string };
    expect(choice.Choices.map((c) => `${c.Variable}→${c.Next}`)).toEqual([
      "$.earlyPoll.final.keys→No preview", "$.earlyPoll.early.keys→Prepare pack preview", "$.earlyPoll.count→No preview",
    ]);
    const wait = branch["Wait for early model"] as { Seconds: number };
    // The training stage's spot wait (120 s) plus the Task margin, looked at every 60 s.
    expect(wait.Seconds).toBe(60);
    expect(choice.Choices[2]!.NumericGreaterThanEquals).toBe(Math.ceil((120 + 1800) / 60));
    expect(choice.Choices[2]!.NumericGreaterThanEquals!).toBeLessThanOrEqual(MAX_EARLY_POLLS);
  });

  it("runs the delivering stage from its one definition on the early folder, marked as a preview, under its own job name", () => {
    const final = compiled.stages.find((s) => s.name === "pack")!.request as CreateProcessingJobRequest;
    const branch = parallel.Branches[1]!.States;
    const preview = branch["Run pack preview"] as { Parameters: Record<string, unknown>; Catch: { Next: string }[]; Next: string };
    const inputs = preview.Parameters["ProcessingInputs"] as { S3Input: Record<string, unknown> }[];
    expect(inputs[0]!.S3Input["S3Uri.$"]).toBe("States.Format('s3://spaceport-test-processing/jobs/{}/checkpoints/train/early/model/', $.jobId)");
    expect(preview.Parameters["ProcessingJobName.$"]).toBe("$.preview.jobName");
    expect(preview.Parameters["Environment"]).toMatchObject({ SPACEPORT_PREVIEW: "1" });
    // The same outputs as the final run: the preview lands at the same links.
    expect(preview.Parameters["ProcessingOutputConfig"]).toEqual((states["Run pack"] as { Parameters: Record<string, unknown> }).Parameters["ProcessingOutputConfig"]);
    expect(final.Environment).not.toHaveProperty("SPACEPORT_PREVIEW");
    expect((branch["Prepare pack preview"] as { Parameters: Record<string, string> }).Parameters["jobName.$"]).toBe("States.Format('{}-pack-p{}', $.jobId, $$.Execution.RedriveCount)");
    // A preview that fails is recorded and the branch ends: never the job's failure branch.
    expect(preview.Catch.map((c) => c.Next)).toEqual(["Record pack preview failure"]);
    expect((branch["Record pack preview failure"] as { Next: string }).Next).toBe("Preview done");
    expect(compiled.tasks["Run pack preview"]).toEqual({ type: "sagemaker", stage: "pack", jobKind: "processing" });
    expect(compiled.tasks["Notify preview"]).toEqual({ type: "notify", outcome: "preview" });
    expect(compiled.tasks["Look for early model"]).toEqual({ type: "s3-list" });
  });

  it("tells the training stage where to write its early model, and keeps its checkpoint folder synced", () => {
    const training = compiled.stages.find((s) => s.name === "train")!;
    expect(training.kind).toBe("training");
    const request = training.request as { Environment: Record<string, string>; CheckpointConfig: { LocalPath: string } };
    expect(request.Environment["SPACEPORT_EARLY_OUTPUT_MODEL"]).toBe("/opt/ml/checkpoints/early/model");
    expect(request.CheckpointConfig.LocalPath).toBe("/opt/ml/checkpoints");
  });

  it("a failed training branch goes on to the failure email and a retry re-enters the Parallel", () => {
    expect((states["Record train branch failure"] as { Next: string }).Next).toBe("Notify failure");
    const gate = states["Job failed"] as { Choices: { Next: string }[] };
    expect(gate.Choices.map((c) => c.Next)).toEqual(["Prepare prep", "Run train and an early pack", "Prepare pack"]);
  });
});

/** The compiled machine with stand-in tasks: the early marker appears on the third look, training ends later. */
async function execute(options: { markerAt?: number; previewFails?: boolean; trainingFails?: boolean }) {
  const calls: string[] = [];
  const payloads: Record<string, unknown> = {};
  let looks = 0;
  let trainingDone = false;
  let release: () => void = () => undefined;
  const trainingEnds = new Promise<void>((r) => (release = r));
  const handlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [state, binding] of Object.entries(compiled.tasks)) {
    handlers[state] = async (json) => {
      const input = json as Record<string, unknown>;
      calls.push(state);
      payloads[state] = input;
      if (binding.type === "s3-list") {
        const early = String(input["Prefix"]).endsWith("_complete");
        if (early) looks++;
        if (looks >= 5) release();
        return { KeyCount: early ? (options.markerAt !== undefined && looks >= options.markerAt ? 1 : 0) : trainingDone ? 1 : 0 } as JSONValue;
      }
      if (binding.type === "notify") return { StatusCode: 200 } as JSONValue;
      if (state === "Run train") {
        await trainingEnds;
        trainingDone = true;
        if (options.trainingFails) throw Object.assign(new Error(JSON.stringify({ FailureReason: "out of memory" })), { name: "States.TaskFailed" });
        return { TrainingJobName: String(input["TrainingJobName"]), TrainingJobStatus: "Completed", ModelArtifacts: { S3ModelArtifacts: "s3://b/jobs/x/model/m.tar.gz" } } as JSONValue;
      }
      if (state === "Run pack preview") release();
      if (state === "Run pack preview" && options.previewFails) throw Object.assign(new Error("{}"), { name: "States.TaskFailed" });
      return { ProcessingJobName: String(input["ProcessingJobName"]), ProcessingJobStatus: "Completed" } as JSONValue;
    };
  }
  const machine = new StateMachine(JSON.parse(compiled.definitionJson) as ConstructorParameters<typeof StateMachine>[0]);
  const waits = Object.fromEntries(Object.keys(parallel.Branches[1]!.States).filter((n) => n.startsWith("Wait")).map((n) => [n, 1]));
  const execution = machine.run(
    { jobId: "20261126-093012-1a2b3c4d", inputUri: "s3://b/jobs/20261126-093012-1a2b3c4d/input/photos.zip", email: "a@example.com", options: { quality: "standard" } } as JSONValue,
    { overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waits, retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((s) => [s, 1])) }, context: { Execution: { RedriveCount: 0 } } },
  );
  const output = (await execution.result.catch((error: unknown) => ({ error }))) as Record<string, unknown>;
  return { calls, output, payloads };
}

describe("the compiled early run, executed locally", () => {
  it("marker first: the preview runs and is announced while training still runs, then the final run", async () => {
    const { calls, output } = await execute({ markerAt: 3 });
    expect(calls.filter((c) => !c.startsWith("Look"))).toEqual(["Run prep", "Run train", "Run pack preview", "Notify preview", "Run pack", "Notify success"]);
    expect(output["stages"]).toHaveProperty("train");
    expect(output).not.toHaveProperty("earlyPoll");
  });

  it("no marker: the looks end with training, no preview", async () => {
    const { calls } = await execute({});
    expect(calls.filter((c) => !c.startsWith("Look"))).toEqual(["Run prep", "Run train", "Run pack", "Notify success"]);
  });

  it("a failing preview: no preview email, the job succeeds", async () => {
    const { calls } = await execute({ markerAt: 1, previewFails: true });
    expect(calls.filter((c) => !c.startsWith("Look"))).toEqual(["Run prep", "Run train", "Run pack preview", "Run pack", "Notify success"]);
  });

  it("training that fails: the attempt and SageMaker's reason reach the failure email's payload", async () => {
    const { calls, payloads } = await execute({ markerAt: 1, trainingFails: true });
    expect(calls.filter((c) => !c.startsWith("Look"))).toEqual(["Run prep", "Run train", "Run pack preview", "Notify preview", "Notify failure"]);
    const failure = (payloads["Notify failure"] as { Payload: { failure: { stage: string; error: { Error: string; Cause: string } } } }).Payload.failure;
    expect(failure.stage).toBe("train");
    expect(failure.error.Error).toBe("States.TaskFailed");
    expect(JSON.parse(failure.error.Cause)).toEqual({ FailureReason: "out of memory" });
  });
});

describe("definePipeline: early output declarations", () => {
  const prep = processingStage({ name: "prep", image: image("images/p"), instance: { type: "ml.c6i.xlarge" }, timeout: seconds(60), inputs: { photos: jobInput() }, outputs: ["prepared"] });
  const train = trainingStage({
    name: "train",
    image: image("images/t"),
    instance: { type: "ml.g4dn.xlarge" },
    timeout: seconds(60),
    inputs: { prepared: prep.output("prepared") },
    hyperparameters: { quality },
    earlyOutputs: { model: { description: "the model early" } },
  });
  const plainTrain = trainingStage({ name: "train", image: image("images/t"), instance: { type: "ml.g4dn.xlarge" }, timeout: seconds(60), inputs: { prepared: prep.output("prepared") } });
  const pack = (earlyInputs: Record<string, unknown>, inputs: Record<string, unknown> = { model: train.output("model") }) =>
    processingStage({ name: "pack", image: image("images/k"), instance: { type: "ml.c6i.xlarge" }, timeout: seconds(60), inputs: inputs as never, outputs: ["delivery"], earlyInputs: earlyInputs as never });
  const define = (stages: readonly unknown[], delivery = "pack") =>
    definePipeline({ name: "p", stages: stages as never, delivery: { kind: "stage-output", stage: delivery, output: "delivery" } as never });

  it("accepts the declaration and finds the early run", () => {
    const pipeline = define([prep, train, pack({ model: train.earlyOutput("model") })]);
    expect(earlyRuns(pipeline).map((r) => `${r.producer.name}/${r.output}→${r.consumer.name}(${r.inputs.join()})`)).toEqual(["train/model→pack(model)"]);
  });

  it("earlyOutput() of an undeclared output throws, naming the stage and what it declares", () => {
    expect(() => plainTrain.earlyOutput("model")).toThrow('stage "train" declares no early output "model" (earlyOutputs: none)');
  });

  it.each([
    ["an early input that is not one of the stage's inputs", () => define([prep, train, pack({ extra: train.earlyOutput("model") })]), 'stage "pack", earlyInputs.extra: "extra" is not one of this stage\'s inputs (model)'],
    ["an early input of another output than its input", () => define([prep, train, pack({ prepared: train.earlyOutput("model") }, { model: train.output("model"), prepared: prep.output("prepared") })]), 'earlyInputs.prepared: reads the early "model" of "train", but inputs.prepared reads prep\'s "prepared"'],
    ["an early output of a stage not in the pipeline", () => define([prep, pack({ model: { kind: "early-output", stage: "ghost", output: "model" } }, { model: prep.output("prepared") })]), 'earlyInputs.model: refers to stage "ghost", which is not in the pipeline'],
    ["an early output the producer does not declare", () => define([prep, plainTrain, pack({ model: { kind: "early-output", stage: "train", output: "model" } }, { model: plainTrain.output("model") })]), 'stage "train" declares no early output "model" (earlyOutputs: none)'],
    ["a declared early output that nobody consumes", () => define([prep, train, pack({})]), 'stage "train", earlyOutputs.model: no stage consumes it'],
    ["an early run by a stage that is not the delivery", () => define([prep, train, pack({ model: train.earlyOutput("model") }), processingStage({ name: "ship", image: image("images/s"), instance: { type: "ml.c6i.xlarge" }, timeout: seconds(60), inputs: { d: { kind: "stage-output", stage: "pack", output: "delivery" } as never }, outputs: ["delivery"] })], "ship"), 'stage "pack", earlyInputs: only the stage holding the pipeline\'s delivery runs on early inputs'],
  ])("rejects %s", (_what, make, message) => {
    expect(make).toThrow(message);
  });

  it("rejects an early run whose other input comes from a stage that runs after the producer", () => {
    const after = processingStage({ name: "after", image: image("images/a"), instance: { type: "ml.c6i.xlarge" }, timeout: seconds(60), inputs: { model: train.output("model") }, outputs: ["extra"] });
    expect(() => define([prep, train, after, pack({ model: train.earlyOutput("model") }, { model: train.output("model"), extra: after.output("extra") })])).toThrow(
      'earlyInputs.model: inputs.extra comes from stage "after", which runs after "train": the early run starts while "train" still runs',
    );
  });

  it("rejects an unknown job option or value in `when`", () => {
    const badOption = trainingStage({ ...trainFields(), earlyOutputs: { model: { description: "x", when: { speed: ["fast"] } } } });
    expect(() => define([prep, badOption, pack({ model: badOption.earlyOutput("model") }, { model: badOption.output("model") })])).toThrow('earlyOutputs.model.when.speed: no job option "speed" (options: quality)');
    const badValue = trainingStage({ ...trainFields(), earlyOutputs: { model: { description: "x", when: { quality: ["best"] } } } });
    expect(() => define([prep, badValue, pack({ model: badValue.earlyOutput("model") }, { model: badValue.output("model") })])).toThrow('"best" is not a value of "quality" (values: preview, standard, high)');
  });

  function trainFields() {
    return { name: "train" as const, image: image("images/t"), instance: { type: "ml.g4dn.xlarge" as const }, timeout: seconds(60), inputs: { prepared: prep.output("prepared") }, hyperparameters: { quality } };
  }
});

describe("Spaceport's pipeline", () => {
  it("declares the trainer's early model, consumed by the compressor for standard and high", () => {
    const runs = earlyRuns(spaceport);
    expect(runs.map((r) => [r.producer.name, r.output, r.consumer.name, r.early.when])).toEqual([["gaussian-splatting", "model", "compressor", { quality: ["standard", "high"] }]]);
  });
});
