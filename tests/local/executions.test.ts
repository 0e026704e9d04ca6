/**
 * The local Executions port on its own: idempotent starts, Step Functions' event names, and the
 * Node 20 failure mode (every Task throwing, Catch routing the job to its failure branch) made
 * loud: the runtime refuses old Node, and a throwing Task is visible in the history.
 */
import { join } from "node:path";
import { compile } from "../../pipeline/index.js";
import { assertNode22, ExecutionAlreadyExists, LocalExecutions, type TaskHandler } from "../../pipeline/local/executions.js";
import { currentProcess } from "../../pipeline/local/process.js";
import { JobStore } from "../../pipeline/local/store.js";
import { localTarget } from "../../pipeline/local/target.js";
import { tempDir, testConfig, testPipeline } from "./fixtures.js";

const INPUT = JSON.stringify({ jobId: "20261126-093012-1a2b3c4d", inputUri: "s3://b/jobs/x/input/photos.zip", email: "a@example.com", options: { quality: "standard" } });

function executionsWith(handler: (state: string) => (input: unknown) => Promise<unknown>) {
  const dir = tempDir("executions");
  const pipeline = testPipeline(dir);
  const compiled = compile(pipeline, localTarget("test", testConfig(), pipeline));
  const store = new JobStore(join(dir, "jobs.db"));
  const handlers = Object.fromEntries(Object.keys(compiled.tasks).map((state) => [state, handler(state) as TaskHandler]));
  return { store, executions: new LocalExecutions({ store, definitionJson: compiled.definitionJson, handlers, owner: currentProcess() }) };
}

describe("local executions", () => {
  it("refuses to run on a Node without Promise.withResolvers (aws-local-stepfunctions 3 needs Node 22)", () => {
    const original = (Promise as unknown as { withResolvers?: unknown }).withResolvers;
    delete (Promise as unknown as { withResolvers?: unknown }).withResolvers;
    try {
      expect(() => assertNode22()).toThrow(/needs Node 22 or newer/);
    } finally {
      (Promise as unknown as { withResolvers?: unknown }).withResolvers = original;
    }
    expect(() => assertNode22()).not.toThrow();
  });

  it("a Task that throws (what Node 20 does to every Task) is a visible TaskFailed, never a success", async () => {
    const { store, executions } = executionsWith(() => async () => {
      throw new TypeError("Promise.withResolvers is not a function");
    });
    try {
      await executions.start("20261126-093012-1a2b3c4d", INPUT);
      const record = await executions.wait("20261126-093012-1a2b3c4d");
      expect(record?.status).toBe("FAILED");
      const history = await executions.history("20261126-093012-1a2b3c4d");
      const failed = history.find((e) => e.type === "TaskFailed" && e.stateName === "Run prep");
      expect(failed?.error).toBe("TypeError");
      expect(failed?.cause).toContain("Promise.withResolvers");
      expect(history.map((e) => e.stateName)).toContain("Record prep failure");
    } finally {
      store.close();
    }
  });

  it("starts are idempotent by name; a different input under a used name is refused", async () => {
    const { store, executions } = executionsWith((state) => async (input) =>
      state.startsWith("Notify")
        ? { StatusCode: 200 }
        : state === "Run train"
          ? { TrainingJobName: (input as { TrainingJobName: string }).TrainingJobName, TrainingJobStatus: "Completed", ModelArtifacts: { S3ModelArtifacts: "s3://b/m.tar.gz" } }
          : { ProcessingJobName: (input as { ProcessingJobName: string }).ProcessingJobName, ProcessingJobStatus: "Completed" },
    );
    try {
      expect(await executions.start("20261126-093012-1a2b3c4d", INPUT)).toEqual({ started: true });
      expect(await executions.start("20261126-093012-1a2b3c4d", INPUT)).toEqual({ started: false });
      await expect(executions.start("20261126-093012-1a2b3c4d", INPUT.replace("a@example.com", "b@example.com"))).rejects.toBeInstanceOf(ExecutionAlreadyExists);
      expect((await executions.wait("20261126-093012-1a2b3c4d"))?.status).toBe("SUCCEEDED");
      const types = (await executions.history("20261126-093012-1a2b3c4d")).map((e) => e.type);
      expect(types.slice(0, 3)).toEqual(["ExecutionStarted", "PassStateEntered", "PassStateExited"]);
      expect(types).toEqual(expect.arrayContaining(["TaskStateEntered", "TaskScheduled", "TaskSucceeded", "TaskStateExited", "SucceedStateEntered"]));
      expect(types.at(-1)).toBe("ExecutionSucceeded");
      expect(await executions.describe("20990101-000000-00000000")).toBeUndefined();
    } finally {
      store.close();
    }
  });
});
