/**
 * Endings no Catch sees (timeout, abort, States.Runtime) still mail the submitter, through the
 * EventBridge execution-status rule; and a job whose Catch path already mailed gets one email.
 */
import { describe, expect, it } from "@jest/globals";
import { notify, type NotifyDeps } from "../../functions/notify/handler.js";
import { isExecutionStatusChange, notifyExecutionEnded } from "../../functions/notify/execution-event.js";
import { FakeExecutions, MemoryStore, RecordingLogger, RecordingMailer, testConfig } from "./helpers.js";
import { JOB, Script, processingCause } from "./scripts.js";

const EMAIL = "jane.doe@example.com";
const INPUT = { jobId: JOB, inputUri: `s3://x/jobs/${JOB}/input/photos.zip`, email: EMAIL, options: { quality: "standard" }, client: "website" };

/** The event EventBridge delivers for a Step Functions execution status change. */
function statusChange(status: string, extra: Record<string, unknown> = {}) {
  return {
    version: "0",
    id: "e-1",
    "detail-type": "Step Functions Execution Status Change",
    source: "aws.states",
    account: "123456789012",
    time: "2026-11-27T09:30:12Z",
    region: "us-west-2",
    resources: [`arn:aws:states:us-west-2:123456789012:execution:spaceport-ml-prod:${JOB}`],
    detail: {
      executionArn: `arn:aws:states:us-west-2:123456789012:execution:spaceport-ml-prod:${JOB}`,
      stateMachineArn: "arn:aws:states:us-west-2:123456789012:stateMachine:spaceport-ml-prod",
      name: JOB,
      status,
      startDate: 1764149412000,
      stopDate: 1764235812000,
      input: JSON.stringify(INPUT),
      output: null,
      error: null,
      cause: null,
      ...extra,
    },
  };
}

function setup() {
  const store = new MemoryStore();
  const mailer = new RecordingMailer();
  const executions = new FakeExecutions();
  const script = new Script().begin().run("sfm").submitted().succeed("sfm", 600).run("gaussian-splatting").submitted();
  executions.records.set(JOB, script.record("TIMED_OUT"));
  executions.histories.set(JOB, script.events);
  const deps: NotifyDeps = { store, mailer, executions, log: new RecordingLogger().log, metric: () => undefined, now: () => script.now };
  return { store, mailer, deps, config: testConfig() };
}

describe("notify on an execution status change", () => {
  it("recognizes EventBridge's event and not the state machine's payload", () => {
    expect(isExecutionStatusChange(statusChange("TIMED_OUT"))).toBe(true);
    expect(isExecutionStatusChange({ jobId: JOB, status: "failed" })).toBe(false);
  });

  it("a timed-out execution mails the submitter, naming the stage that was running", async () => {
    const t = setup();
    const result = await notifyExecutionEnded(statusChange("TIMED_OUT"), t.deps, t.config);
    expect(result).toMatchObject({ jobId: JOB, status: "failed", sent: true });
    expect(t.mailer.sent).toHaveLength(1);
    expect(t.mailer.sent[0]!.to).toBe(EMAIL);
    expect(t.mailer.sent[0]!.text).toMatch(/3D model training|gaussian-splatting/i);
  });

  it("an aborted execution and a States.Runtime failure each mail once, with the reason", async () => {
    for (const [status, extra, reason] of [
      ["ABORTED", {}, /stopped by an operator/],
      ["FAILED", { error: "States.Runtime", cause: "An error occurred while executing the state 'Record sfm failure'" }, /An error occurred while executing/],
    ] as const) {
      const t = setup();
      await notifyExecutionEnded(statusChange(status, extra), t.deps, t.config);
      await notifyExecutionEnded(statusChange(status, extra), t.deps, t.config); // EventBridge retries
      expect(t.mailer.sent).toHaveLength(1);
      expect(t.mailer.sent[0]!.text).toMatch(reason);
    }
  });

  it("one email when both paths fire: the Catch path's Notify failure, then the FAILED event", async () => {
    const t = setup();
    const catchPayload = {
      jobId: JOB, email: EMAIL, options: { quality: "standard" }, stages: {}, pipeline: "spaceport-ml", status: "failed",
      failure: { stage: "sfm", error: { Error: "States.TaskFailed", Cause: processingCause("fewer than 3 photos could be placed") } },
    };
    await notify(catchPayload, t.deps, t.config);
    const result = await notifyExecutionEnded(statusChange("FAILED", { error: "StageFailed", cause: "sfm" }), t.deps, t.config);
    expect(result).toMatchObject({ sent: false });
    expect(t.mailer.sent).toHaveLength(1);
    expect(t.mailer.sent[0]!.text).toContain("fewer than 3 photos could be placed");
  });

  it("a job that already got its success email gets no failure email", async () => {
    const t = setup();
    await t.store.putText(t.config.processingBucket, `jobs/${JOB}/status/notification-succeeded.json`, "{}");
    await notifyExecutionEnded(statusChange("TIMED_OUT"), t.deps, t.config);
    expect(t.mailer.sent).toHaveLength(0);
  });

  it("a SUCCEEDED event mails nothing", async () => {
    const t = setup();
    expect(await notifyExecutionEnded(statusChange("SUCCEEDED"), t.deps, t.config)).toBeUndefined();
    expect(t.mailer.sent).toHaveLength(0);
  });
});
