import { beforeEach, describe, expect, it } from "@jest/globals";
import { mockClient } from "aws-sdk-client-mock";
import { SageMakerClient, StopProcessingJobCommand, StopTrainingJobCommand } from "@aws-sdk/client-sagemaker";
import { RedriveExecutionCommand, SFNClient, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { createApi } from "../../functions/api.js";
import { AwsJobControl } from "../../functions/adapters/aws/job-control.js";
import type { JobControl } from "../../functions/ports.js";
import { FakeExecutions, KEYS, MemoryStore, PROCESSING, RecordingLogger, RecordingMailer, testConfig } from "./helpers.js";
import { JOB, Script } from "./scripts.js";

class RecordingControl implements JobControl {
  readonly calls: string[] = [];
  /** What StopProcessingJob / StopTrainingJob finds: a job to stop, or none yet. */
  stageJobExists = true;
  constructor(private readonly executions: FakeExecutions) {}
  private end(name: string, status: "ABORTED" | "FAILED"): void {
    const record = this.executions.records.get(name)!;
    this.executions.records.set(name, { ...record, status, stopDate: new Date("2026-11-26T09:40:00Z") });
  }
  async stopExecution(name: string, cause: string): Promise<void> {
    this.calls.push(`stopExecution ${name} (${cause})`);
    this.end(name, "ABORTED");
  }
  async stopStageJob(kind: "processing" | "training", jobName: string): Promise<boolean> {
    this.calls.push(`stop ${kind} ${jobName}`);
    // The stopped job fails its stage: the execution goes through its failure branch.
    if (this.stageJobExists) this.end(jobName.slice(0, 24), "FAILED");
    return this.stageJobExists;
  }
  async redrive(name: string): Promise<void> {
    this.calls.push(`redrive ${name}`);
    const record = this.executions.records.get(name)!;
    if (record.status === "RUNNING" || record.status === "SUCCEEDED") throw Object.assign(new Error("not redrivable"), { name: "ExecutionNotRedrivable" });
    this.executions.records.set(name, { name: record.name, status: "RUNNING", startDate: record.startDate, input: record.input });
  }
}

function setup(script: Script, status: "RUNNING" | "FAILED" | "SUCCEEDED" = "RUNNING", mailer = new RecordingMailer()) {
  const store = new MemoryStore();
  const executions = new FakeExecutions();
  executions.records.set(JOB, script.record(status));
  executions.histories.set(JOB, script.events);
  const control = new RecordingControl(executions);
  const logger = new RecordingLogger();
  const api = createApi({ store, executions, control, mailer, log: logger.log, now: () => new Date("2026-11-26T09:40:00Z") }, testConfig());
  const call = async (method: string, path: string, key: string = KEYS.website) => {
    const r = await api({ method, path, headers: { authorization: `Bearer ${key}` } });
    return { status: r.status, data: JSON.parse(r.body) as any };
  };
  return { store, executions, control, mailer, logger, call };
}

describe("POST /jobs/{id}/cancel", () => {
  it("stops the running stage's SageMaker job (the execution ends through its failure branch); records cancelled; emails once", async () => {
    const script = new Script().begin().run("sfm").submitted().succeed("sfm", 600).run("gaussian-splatting").submitted();
    const { store, control, mailer, call } = setup(script);
    const answer = await call("POST", `/jobs/${JOB}/cancel`);
    expect(answer).toEqual({ status: 202, data: { jobId: JOB, state: "cancelled", stage: "gaussian-splatting" } });
    expect(control.calls).toEqual([`stop training ${JOB}-gaussian-splatting-1`]);
    script.fail("gaussian-splatting", 5, "States.TaskFailed", "{}").notify("failed").finish("failed");
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({ to: "pilot@example.com", subject: `Your job was cancelled (job ${JOB})` });
    expect(mailer.sent[0]!.text).toContain("during 3d model training (gaussian splatting)");
    expect(mailer.sent[0]!.text).toContain("Your uploaded photos and the stages that had finished are kept");

    // The status reads cancelled, the stopped stage too, the finished one stays succeeded; no failure.
    const status = await call("GET", `/jobs/${JOB}`);
    expect(status.data.state).toBe("cancelled");
    expect(status.data.cancelledAt).toBe("2026-11-26T09:40:00.000Z");
    expect(status.data.failure).toBeUndefined();
    expect(status.data.notification).toBe("sent");
    expect(status.data.stages.map((s: { state: string }) => s.state)).toEqual(["succeeded", "cancelled", "pending"]);

    // Again: same answer, nothing stopped or sent twice.
    expect((await call("POST", `/jobs/${JOB}/cancel`)).status).toBe(202);
    expect(control.calls).toHaveLength(1);
    expect(mailer.sent).toHaveLength(1);
    expect([...store.objects.keys()].filter((k) => k.startsWith(`${PROCESSING}/jobs/${JOB}/status/`)).sort()).toEqual([
      `${PROCESSING}/jobs/${JOB}/status/cancelled.json`,
      `${PROCESSING}/jobs/${JOB}/status/notification-cancelled.json`,
    ]);
  });

  it("a job that ended is a 409; another client's or an unknown job is a 404; a bad id a 400", async () => {
    const done = new Script().begin().run("sfm").fail("sfm", 60, "States.TaskFailed", "{}").notify("failed").finish("failed");
    const { control, mailer, call } = setup(done, "FAILED");
    expect(await call("POST", `/jobs/${JOB}/cancel`)).toMatchObject({ status: 409, data: { error: { field: "id" } } });
    expect((await call("POST", `/jobs/${JOB}/cancel`, KEYS.scripts)).status).toBe(404);
    expect((await call("POST", `/jobs/20261126-093012-00000000/cancel`)).status).toBe(404);
    expect((await call("POST", `/jobs/nope/cancel`)).data.error.field).toBe("id");
    expect(control.calls).toEqual([]);
    expect(mailer.sent).toEqual([]);
  });

  it("a queued job (no stage job yet) stops its execution; so does a stage whose job was not created yet", async () => {
    const queued = setup(new Script().begin());
    expect((await queued.call("POST", `/jobs/${JOB}/cancel`)).data.stage).toBeNull();
    expect(queued.control.calls).toEqual([`stopExecution ${JOB} (cancelled by website)`]);
    expect((await queued.call("GET", `/jobs/${JOB}`)).data.state).toBe("cancelled");

    const creating = setup(new Script().begin().run("sfm"));
    creating.control.stageJobExists = false;
    await creating.call("POST", `/jobs/${JOB}/cancel`);
    expect(creating.control.calls).toEqual([`stop processing ${JOB}-sfm-1`, `stopExecution ${JOB} (cancelled by website)`]);
  });

  it("an email that cannot be sent is logged, the job is still cancelled (no 5xx)", async () => {
    const { call, logger } = setup(new Script().begin().run("sfm"), "RUNNING", new RecordingMailer(new Error("SMTP down")));
    expect((await call("POST", `/jobs/${JOB}/cancel`)).status).toBe(202);
    expect(logger.lines.find((l) => l.event === "email_send_failed")?.level).toBe("error");
    expect((await call("GET", `/jobs/${JOB}`)).data).toMatchObject({ state: "cancelled", notification: "failed" });
  });
});

describe("POST /jobs/{id}/retry", () => {
  it("redrives a failed job from the failed stage; the status follows the new round", async () => {
    const script = new Script().begin().run("sfm").submitted().succeed("sfm", 600).run("gaussian-splatting").submitted().fail("gaussian-splatting", 60, "States.TaskFailed", "{}").notify("failed").finish("failed");
    const { control, call } = setup(script, "FAILED");
    const answer = await call("POST", `/jobs/${JOB}/retry`);
    expect(answer).toMatchObject({ status: 202, data: { jobId: JOB, state: "running", from: "gaussian-splatting", statusUrl: `https://api.spaceport.example/jobs/${JOB}` } });
    expect(control.calls).toEqual([`redrive ${JOB}`]);
    // The redriven round: sfm stays succeeded (not rerun), the failed stage runs as attempt 2.
    script.events.push({ id: 999, timestamp: script.now, type: "ExecutionRedriven" });
    script.run("gaussian-splatting"); // attempt 2
    const status = await call("GET", `/jobs/${JOB}`);
    expect(status.data.state).toBe("running");
    expect(status.data.stages.map((s: { name: string; state: string }) => `${s.name}:${s.state}`)).toEqual(["sfm:succeeded", "gaussian-splatting:running", "compressor:pending"]);
    expect(status.data.failure).toBeUndefined();
  });

  it("a running or succeeded job is a 409; one past the redrive window is a 409 that says to submit again", async () => {
    expect((await setup(new Script().begin().run("sfm")).call("POST", `/jobs/${JOB}/retry`)).status).toBe(409);
    expect((await setup(new Script().begin(), "SUCCEEDED").call("POST", `/jobs/${JOB}/retry`)).data.error.message).toMatch(/succeeded/);
    const old = setup(new Script().begin().run("sfm").fail("sfm", 1, "States.TaskFailed", "{}").notify("failed").finish("failed"), "FAILED");
    old.control.redrive = async () => {
      throw Object.assign(new Error("Execution redrivable period exceeded"), { name: "ExecutionNotRedrivable" });
    };
    const refused = await old.call("POST", `/jobs/${JOB}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.data.error.message).toMatch(/submit its photos again/);
  });
});

describe("AwsJobControl", () => {
  const sfn = mockClient(SFNClient);
  const sm = mockClient(SageMakerClient);
  beforeEach(() => {
    sfn.reset();
    sm.reset();
  });
  const arn = "arn:aws:states:us-west-2:123456789012:stateMachine:spaceport-prod";
  const control = () => new AwsJobControl(new SFNClient({ region: "us-west-2" }), new SageMakerClient({ region: "us-west-2" }), arn);

  it("StopExecution on the job's execution ARN; StopProcessingJob / StopTrainingJob by kind", async () => {
    sfn.on(StopExecutionCommand).resolves({});
    sm.on(StopProcessingJobCommand).resolves({});
    sm.on(StopTrainingJobCommand).resolves({});
    await control().stopExecution(JOB, "cancelled by website");
    await control().stopStageJob("processing", `${JOB}-sfm-1`);
    await control().stopStageJob("training", `${JOB}-gaussian-splatting-2`);
    expect(sfn.commandCalls(StopExecutionCommand)[0]!.args[0].input).toEqual({
      executionArn: `arn:aws:states:us-west-2:123456789012:execution:spaceport-prod:${JOB}`,
      error: "Spaceport.Cancelled",
      cause: "cancelled by website",
    });
    expect(sm.commandCalls(StopProcessingJobCommand)[0]!.args[0].input).toEqual({ ProcessingJobName: `${JOB}-sfm-1` });
    expect(sm.commandCalls(StopTrainingJobCommand)[0]!.args[0].input).toEqual({ TrainingJobName: `${JOB}-gaussian-splatting-2` });
  });

  it("a SageMaker job that already ended is fine; other errors are not", async () => {
    sm.on(StopTrainingJobCommand)
      .rejectsOnce(Object.assign(new Error("Job is not in progress"), { name: "ValidationException" }))
      .rejectsOnce(Object.assign(new Error("Could not find job"), { name: "ResourceNotFound" }))
      .rejectsOnce(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    await expect(control().stopStageJob("training", "j")).resolves.toBe(true);
    await expect(control().stopStageJob("training", "j")).resolves.toBe(false); // not created yet: the caller stops the execution
    await expect(control().stopStageJob("training", "j")).rejects.toThrow("denied");
  });

  it("redrive: RedriveExecution on the job's execution ARN", async () => {
    sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });
    await control().redrive(JOB);
    expect(sfn.commandCalls(RedriveExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: `arn:aws:states:us-west-2:123456789012:execution:spaceport-prod:${JOB}` });
  });
});
