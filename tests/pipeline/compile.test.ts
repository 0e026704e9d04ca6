import { describe, expect, it } from "@jest/globals";
import type { CreateProcessingJobRequest, CreateTrainingJobRequest } from "@aws-sdk/client-sagemaker";
import aslValidator from "asl-validator";
import { StateMachine } from "aws-local-stepfunctions";

type JSONValue = Parameters<StateMachine["run"]>[0];
import {
  compile,
  processingRequestProblems,
  resolveReferences,
  STATE,
  trainingRequestProblems,
  type CompiledPipeline,
} from "../../pipeline/index.js";
import { JOB_INPUT, spaceportWithoutEarly, testTarget } from "./fixtures.js";

// The state machine's own shape and retries; the early preview's Parallel is tests/pipeline/early.test.ts's.
const spaceport = spaceportWithoutEarly();
const compiled = compile(spaceport, testTarget());

/** What each SageMaker state must receive for JOB_INPUT: the typed request with markers resolved. */
function expectedRequest(stageName: string, attempt: number, state: Record<string, unknown>) {
  const stage = compiled.stages.find((s) => s.name === stageName)!;
  return resolveReferences(stage.request, (path) => {
    if (path === "$.jobId") return JOB_INPUT.jobId;
    if (path === "$.inputUri") return JOB_INPUT.inputUri;
    if (path === "$.options.quality") return JOB_INPUT.options.quality;
    if (path === `$.runs.${stage.key}.jobName`) return `${JOB_INPUT.jobId}-${stageName}-${attempt}`;
    const match = /^\$\.stages\.(\w+)\.modelArtifacts$/.exec(path);
    if (match) return String((state[match[1]!] as { modelArtifacts: string }).modelArtifacts);
    throw new Error(`unexpected reference ${path}`);
  });
}

interface Recorded {
  state: string;
  input: unknown;
}

type Behaviour = (state: string, input: Record<string, unknown>, callNumber: number) => unknown;

/** Local handlers standing in for SageMaker and the notify Lambda; they record every call. */
function handlers(compiledPipeline: CompiledPipeline, behaviour: Behaviour = () => undefined) {
  const calls: Recorded[] = [];
  const counts = new Map<string, number>();
  const local: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [state, binding] of Object.entries(compiledPipeline.tasks)) {
    local[state] = async (json): Promise<JSONValue> => {
      const input = json as Record<string, unknown>;
      const n = (counts.get(state) ?? 0) + 1;
      counts.set(state, n);
      calls.push({ state, input });
      const custom = behaviour(state, input, n);
      if (custom !== undefined) return custom as JSONValue;
      if (binding.type === "notify") return { StatusCode: 200, Payload: { sent: true } } as JSONValue;
      if (binding.type === "s3-list") return { KeyCount: 0 } as JSONValue;
      if (binding.jobKind === "processing") {
        return { ProcessingJobName: String(input["ProcessingJobName"]), ProcessingJobStatus: "Completed", ProcessingJobArn: "arn" } as JSONValue;
      }
      const name = String(input["TrainingJobName"]);
      const output = (input["OutputDataConfig"] as { S3OutputPath: string }).S3OutputPath;
      return { TrainingJobName: name, TrainingJobStatus: "Completed", ModelArtifacts: { S3ModelArtifacts: `${output}${name}/output/model.tar.gz` } } as JSONValue;
    };
  }
  return { calls, local };
}

async function run(behaviour?: Behaviour) {
  const machine = new StateMachine(JSON.parse(compiled.definitionJson));
  const { calls, local } = handlers(compiled, behaviour);
  const execution = machine.run(JOB_INPUT as unknown as JSONValue, {
    overrides: {
      taskResourceLocalHandlers: local,
      retryIntervalOverrides: Object.fromEntries(compiled.stages.map((s) => [s.runState, 0])),
    },
    // Step Functions' context for a first run (RedriveCount counts retries).
    context: { Execution: { Id: JOB_INPUT.jobId, Name: JOB_INPUT.jobId, RedriveCount: 0 } },
  });
  const events: { type: string; state?: { name: string } }[] = [];
  const collect = (async () => {
    for await (const event of execution.eventLogs) events.push(event as never);
  })();
  let output: unknown;
  let error: unknown;
  try {
    output = await execution.result;
  } catch (e) {
    error = e;
  }
  await collect;
  return { calls, output, error, events };
}

describe("compile(spaceport)", () => {
  it("produces ASL that asl-validator accepts", () => {
    const { isValid, errors } = aslValidator(JSON.parse(compiled.definitionJson));
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it("is deterministic", () => {
    expect(compile(spaceport, testTarget()).definitionJson).toBe(compiled.definitionJson);
  });

  it("uses the optimized .sync integrations and a timeout on every stage", () => {
    for (const stage of compiled.stages) {
      const state = compiled.definition.States[stage.runState] as { Resource: string; TimeoutSeconds: number };
      expect(state.Resource).toBe(
        stage.kind === "training" ? "arn:aws:states:::sagemaker:createTrainingJob.sync" : "arn:aws:states:::sagemaker:createProcessingJob.sync",
      );
      expect(state.TimeoutSeconds).toBeGreaterThan(stage.stage.timeout.seconds);
    }
    expect(compiled.stages.find((s) => s.kind === "processing")!.request.StoppingCondition?.MaxRuntimeInSeconds).toBe(7200);
  });

  it("puts every field SageMaker requires into every request (the seed's missing S3InputMode cannot recur)", () => {
    for (const stage of compiled.stages) {
      if (stage.kind === "processing") {
        const request: CreateProcessingJobRequest = stage.request; // checked by tsc against the SDK type
        expect(processingRequestProblems(request)).toEqual([]);
        for (const input of request.ProcessingInputs ?? []) {
          expect(input.S3Input).toEqual(expect.objectContaining({ S3InputMode: "File", S3DataType: "S3Prefix" }));
        }
      } else {
        const request: CreateTrainingJobRequest = stage.request;
        expect(trainingRequestProblems(request)).toEqual([]);
        // PROD_QUOTAS list no spot-training quota: the spot stage runs on demand (tests/pipeline/quotas.test.ts).
        expect(request.EnableManagedSpotTraining).toBeUndefined();
      }
    }
  });

  it("the runtime check catches a processing input without S3InputMode", () => {
    const stage = compiled.stages.find((s) => s.kind === "processing")!;
    const broken = structuredClone(stage.request) as CreateProcessingJobRequest;
    delete broken.ProcessingInputs![0]!.S3Input!.S3InputMode;
    expect(processingRequestProblems(broken).join("\n")).toMatch(/s3InputMode.*must not be null/);
  });

  it("keeps job names within SageMaker's rules for the longest stage and attempt", () => {
    const longest = `${JOB_INPUT.jobId}-gaussian-splatting-99`;
    expect(longest.length).toBeLessThanOrEqual(63);
    expect(longest).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
  });
});

describe("the compiled state machine, executed locally", () => {
  it("runs every stage in order with exactly the typed requests, S3 URIs flowing from stage to stage", async () => {
    const { calls, output, error } = await run();
    expect(error).toBeUndefined();
    expect(calls.map((c) => c.state)).toEqual(["Run sfm", "Run gaussian-splatting", "Run compressor", STATE.notifySuccess]);

    const stateSoFar: Record<string, unknown> = {};
    for (const call of calls.slice(0, 3)) {
      const stageName = call.state.replace("Run ", "");
      expect(call.input).toEqual(expectedRequest(stageName, 1, stateSoFar));
      const stage = compiled.stages.find((s) => s.name === stageName)!;
      if (stage.kind === "training") {
        stateSoFar[stage.key] = {
          modelArtifacts: `s3://spaceport-test-processing/jobs/${JOB_INPUT.jobId}/model/${JOB_INPUT.jobId}-gaussian-splatting-1/output/model.tar.gz`,
        };
      }
    }
    const training = calls[1]!.input as CreateTrainingJobRequest;
    expect(training.InputDataConfig![0]!.DataSource!.S3DataSource!.S3Uri).toBe(`s3://spaceport-test-processing/jobs/${JOB_INPUT.jobId}/sfm/`);
    expect(training.HyperParameters).toEqual({ quality: "preview", checkpoint_every: "1000" });
    const compression = calls[2]!.input as CreateProcessingJobRequest;
    expect(compression.ProcessingInputs![0]!.S3Input!.S3Uri).toBe(
      `s3://spaceport-test-processing/jobs/${JOB_INPUT.jobId}/model/${JOB_INPUT.jobId}-gaussian-splatting-1/output/model.tar.gz`,
    );

    const notify = calls[3]!.input as { FunctionName: string; Payload: Record<string, unknown> };
    expect(notify.FunctionName).toBe(testTarget().notifyFunction);
    expect(notify.Payload).toEqual(
      expect.objectContaining({
        jobId: JOB_INPUT.jobId,
        email: JOB_INPUT.email,
        status: "succeeded",
        deliveryUri: `s3://spaceport-test-processing/jobs/${JOB_INPUT.jobId}/delivery/`,
      }),
    );
    // A silent misroute to the failure branch (e.g. every Task throwing on an old Node) fails here.
    expect(output).toEqual(expect.objectContaining({ notification: { statusCode: 200 } }));
    expect((output as { failure?: unknown }).failure).toBeUndefined();
  });

  it("waits out ResourceLimitExceeded (twice) and still succeeds, with the same job name", async () => {
    const { calls, error, events } = await run((state, _input, n) => {
      if (state === "Run gaussian-splatting" && n <= 2) {
        const quotaError = new Error("The account-level service limit 'ml.g4dn.xlarge for training job usage' is 1 Instances, with current utilization of 1 Instances");
        quotaError.name = "SageMaker.ResourceLimitExceededException";
        throw quotaError;
      }
      return undefined;
    });
    expect(error).toBeUndefined();
    const trainingCalls = calls.filter((c) => c.state === "Run gaussian-splatting");
    expect(trainingCalls).toHaveLength(3);
    expect(new Set(trainingCalls.map((c) => (c.input as CreateTrainingJobRequest).TrainingJobName))).toEqual(
      new Set([`${JOB_INPUT.jobId}-gaussian-splatting-1`]),
    );
    expect(events.filter((e) => e.type === "StateRetried" && e.state?.name === "Run gaussian-splatting")).toHaveLength(2);
    expect(calls.at(-1)!.state).toBe(STATE.notifySuccess);
  });

  it("retries a created job that failed for a passing reason under a fresh name", async () => {
    const { calls, error } = await run((state, _input, n) => {
      if (state === "Run sfm" && n === 1) {
        const failure = new Error(JSON.stringify({ ProcessingJobStatus: "Failed", FailureReason: "InternalServerError: We encountered an internal error." }));
        failure.name = "States.TaskFailed";
        throw failure;
      }
      return undefined;
    });
    expect(error).toBeUndefined();
    const names = calls.filter((c) => c.state === "Run sfm").map((c) => (c.input as CreateProcessingJobRequest).ProcessingJobName);
    expect(names).toEqual([`${JOB_INPUT.jobId}-sfm-1`, `${JOB_INPUT.jobId}-sfm-2`]);
  });

  it("sends a failed training stage to the failure notification with the stage name and SageMaker's reason", async () => {
    const reason = "AlgorithmError: SfM model has 0 points";
    const { calls, error } = await run((state) => {
      if (state === "Run gaussian-splatting") {
        const failure = new Error(JSON.stringify({ TrainingJobStatus: "Failed", FailureReason: reason }));
        failure.name = "States.TaskFailed";
        throw failure;
      }
      return undefined;
    });
    // The execution fails at the retry gate ("Job failed"), which waits for a redrive.
    expect(String((error as Error & { cause?: Error }).cause?.name ?? (error as Error).name)).toMatch(/NoChoiceMatched/);
    expect(calls.map((c) => c.state)).toEqual(["Run sfm", "Run gaussian-splatting", STATE.notifyFailure]);
    const payload = (calls.at(-1)!.input as { Payload: { status: string; failure: { stage: string; error: { Error: string; Cause: string } } } }).Payload;
    expect(payload.status).toBe("failed");
    expect(payload.failure.stage).toBe("gaussian-splatting");
    expect(payload.failure.error.Error).toBe("States.TaskFailed");
    expect(JSON.parse(payload.failure.error.Cause).FailureReason).toBe(reason);
  });

  it("gives up retrying a passing failure after the attempt limit", async () => {
    const { calls } = await run((state) => {
      if (state === "Run compressor") {
        const failure = new Error(JSON.stringify({ FailureReason: "CapacityError: Unable to provision requested ML compute capacity" }));
        failure.name = "States.TaskFailed";
        throw failure;
      }
      return undefined;
    });
    expect(calls.filter((c) => c.state === "Run compressor")).toHaveLength(3);
    expect(calls.at(-1)!.state).toBe(STATE.notifyFailure);
  });
});
