import { describe, expect, it } from "@jest/globals";
import { FakeProgress, PROCESSING, harness, type Harness } from "./helpers.js";
import { JOB, Script, processingCause, trainingCause } from "./scripts.js";
import { deriveJobStatus } from "../../functions/job-status/derive.js";
import { notificationKey } from "../../functions/notify/state.js";
import { spaceport } from "../../stages/spaceport.js";

function withJob(h: Harness, script: Script, status: "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED", input = {}) {
  h.executions.records.set(JOB, script.record(status, input));
  h.executions.histories.set(JOB, script.events);
}
const get = (h: Harness, id = JOB) => h.call({ method: "GET", path: `/jobs/${id}` });

describe("job-status", () => {
  it("queued: started, no stage job yet", async () => {
    const h = harness();
    withJob(h, new Script().begin(), "RUNNING");
    const res = await get(h);
    expect(res.status).toBe(200);
    expect(res.data).toMatchObject({ jobId: JOB, state: "queued", stage: null, progress: 0, submittedAt: "2026-11-26T09:30:12.000Z", options: { quality: "standard" } });
    expect(res.data.stages.map((s: { state: string }) => s.state)).toEqual(["pending", "pending", "pending"]);
  });

  it("queued: the first stage waits for SageMaker quota", async () => {
    const h = harness();
    withJob(h, new Script().begin().run("sfm").quotaWait(), "RUNNING");
    const res = await get(h);
    expect(res.data.state).toBe("queued");
    expect(res.data.stages[0]).toMatchObject({ name: "sfm", state: "running", waitingFor: "quota", attempts: 1 });
  });

  it("running: current stage, per-stage times, progress from the stage's job", async () => {
    const h = harness();
    const progress = new FakeProgress(40);
    const script = new Script().begin().run("sfm").submitted().succeed("sfm", 1500).run("gaussian-splatting").submitted();
    withJob(h, script, "RUNNING");
    const { jobStatus } = await import("../../functions/job-status/handler.js");
    const res = await jobStatus(
      { client: "website", params: { id: JOB }, body: undefined, headers: {}, requestId: "r" },
      { store: h.store, executions: h.executions, progress, log: () => {} },
      h.config,
    );
    const body = res.body as any;
    expect(body.state).toBe("running");
    expect(body.stage).toBe("gaussian-splatting");
    expect(progress.asked).toEqual([`training ${JOB}-gaussian-splatting-1`]);
    expect(body.stages[0]).toMatchObject({ name: "sfm", state: "succeeded", progress: 100, jobName: `${JOB}-sfm-1`, durationSeconds: 1504 });
    expect(body.stages[0].startedAt).toBe("2026-11-26T09:30:20.000Z");
    expect(body.stages[1]).toMatchObject({ name: "gaussian-splatting", state: "running", progress: 40, attempts: 1 });
    expect(body.stages[1].endedAt).toBeUndefined();
    expect(body.stages[2]).toMatchObject({ name: "compressor", state: "pending", attempts: 0 });
    // weights: sfm 30 min done, training 2 h at 40 %, compressor 15 min → (30 + 48) / 165
    // weights: the job's quality (standard): sfm 30 min, training 30 min, compressor 15 min
    expect(body.progress).toBeCloseTo((100 * (30 + 0.4 * 30)) / 75, 1);
    expect(body.delivery).toBeUndefined();
  });

  it("running: a transient failure goes round again with a new job name", async () => {
    const h = harness();
    const script = new Script().begin().run("sfm").fail("sfm", 30, "States.TaskFailed", processingCause("InternalServerError: We encountered an internal error"), { retry: true }).run("sfm").submitted();
    withJob(h, script, "RUNNING");
    const res = await get(h);
    expect(res.data.state).toBe("running");
    expect(res.data.stages[0]).toMatchObject({ state: "running", attempts: 2, jobName: `${JOB}-sfm-2` });
  });

  it("succeeded: delivery links are absolute and point at the job's delivery", async () => {
    const h = harness();
    const script = new Script().begin();
    for (const [stage, s] of [["sfm", 1200], ["gaussian-splatting", 5400], ["compressor", 600]] as const) script.run(stage).submitted().succeed(stage, s);
    script.notify("succeeded").finish("succeeded");
    withJob(h, script, "SUCCEEDED");
    h.store.add(PROCESSING, `jobs/${JOB}/delivery/report.json`, 0, JSON.stringify({
      output: { sogBytes: 17_050_000 }, quality: { psnrDb: 22.04, ssim: 0.71, views: 8 },
      georeference: { frame: "enu", metric: true, origin: { lat: -33.86882, lon: 151.20929 } },
      delivery: { form: "streamed" },
    }));
    const res = await get(h);
    expect(res.data).toMatchObject({ state: "succeeded", stage: null, progress: 100 });
    // what the buyer gets: the held-out quality in words, where the site is, the size, how long the links work
    expect(res.data.about).toEqual({
      quality: { grade: "fair", psnrDb: 22.04, ssim: 0.71, words: "fair (22.0 dB PSNR on 8 held-out photos)" },
      place: { lat: -33.86882, lon: 151.20929, words: "33.86882° S, 151.20929° E" },
      sceneBytes: 17_050_000, sceneSize: "16.3 MB", form: "streamed",
      links: "The links work for 90 days.",
    });
    expect(res.data.finishedAt).toBeDefined();
    expect(res.data.stages.every((s: { state: string }) => s.state === "succeeded")).toBe(true);
    expect(res.data.stages.map((s: { durationSeconds: number }) => s.durationSeconds)).toEqual([1204, 5404, 604]);
    expect(res.data.delivery).toEqual({
      viewer: `https://d123.cloudfront.net/jobs/${JOB}/delivery/index.html`,
      scene: `https://d123.cloudfront.net/jobs/${JOB}/delivery/scene.sog`,
      preview: `https://d123.cloudfront.net/jobs/${JOB}/delivery/preview.webp`,
      thumbnail: `https://d123.cloudfront.net/jobs/${JOB}/delivery/thumbnail.jpg`,
      report: `https://d123.cloudfront.net/jobs/${JOB}/delivery/report.json`,
    });
  });

  it("failed in sfm: the stage's own reason and what to do", async () => {
    const h = harness();
    const reason = "only 3 of 40 photos could be placed; fly with at least 70% forward and 60% side overlap";
    const script = new Script().begin().run("sfm").submitted().fail("sfm", 600, "States.TaskFailed", processingCause(reason)).notify("failed").finish("failed");
    withJob(h, script, "FAILED");
    const res = await get(h);
    expect(res.data.state).toBe("failed");
    expect(res.data.stages[0]).toMatchObject({ state: "failed", durationSeconds: 607 });
    expect(res.data.stages[1].state).toBe("pending");
    expect(res.data.failure).toEqual({ stage: "sfm", error: "States.TaskFailed", reason, advice: expect.stringMatching(/overlap/) });
  });

  it("failed in training: SageMaker's 'AlgorithmError: ' prefix is dropped", async () => {
    const h = harness();
    const script = new Script().begin().run("sfm").succeed("sfm", 60).run("gaussian-splatting").submitted()
      .fail("gaussian-splatting", 60, "States.TaskFailed", trainingCause("AlgorithmError: training diverged: loss became NaN at step 1200; try quality \"preview\""))
      .notify("failed");
    withJob(h, script, "RUNNING"); // still sending the failure email: already failed for the client
    const res = await get(h);
    expect(res.data.state).toBe("failed");
    expect(res.data.failure.reason).toBe('training diverged: loss became NaN at step 1200; try quality "preview"');
    expect(res.data.failure.stage).toBe("gaussian-splatting");
  });

  it("failed: the execution timed out or was aborted", async () => {
    for (const [status, reason] of [["TIMED_OUT", /longer than the pipeline allows/], ["ABORTED", /cancelled/]] as const) {
      const h = harness();
      withJob(h, new Script().begin().run("sfm").submitted(), status);
      const res = await get(h);
      expect(res.data.state).toBe("failed");
      expect(res.data.failure.reason).toMatch(reason);
      expect(res.data.stages[0].state).toBe("failed");
    }
  });

  it("a stage that exceeded its Task timeout says so", async () => {
    const s = new Script().begin().run("compressor").fail("compressor", 10, "States.Timeout", "").notify("failed").finish("failed");
    const status = await deriveJobStatus(s.record("FAILED"), s.events, { pipeline: spaceport });
    expect(status.failure?.reason).toMatch(/time limit/);
    expect(status.failure?.advice).toMatch(/preview/);
  });

  it("a failed notification is shown apart from the job's outcome, never as its reason", async () => {
    const h = harness();
    const script = new Script().begin().run("sfm").submitted();
    const reason = "the local runtime stopped (process 4242 exited) while this job was running in stage sfm";
    const at = new Date(script.now.getTime() + 1000);
    script.events.push(
      { id: script.events.length + 1, timestamp: at, type: "ExecutionFailed", error: "Spaceport.RuntimeStopped", cause: reason },
      // What an older runtime recorded when the email could not be sent during recovery.
      { id: script.events.length + 2, timestamp: at, type: "NotificationFailed", error: "Error", cause: "Can't send mail - all recipients were rejected: 550 5.1.1" },
    );
    h.executions.records.set(JOB, { ...script.record("FAILED"), error: "Spaceport.RuntimeStopped", cause: reason });
    h.executions.histories.set(JOB, script.events);
    h.store.add(h.config.processingBucket, notificationKey(JOB, "failed"), 0, JSON.stringify({ state: "retrying", attempts: 1, lastError: "550", updatedAt: at.toISOString() }));
    const res = await get(h);
    expect(res.data.state).toBe("failed");
    expect(res.data.failure.reason).toBe(reason);
    expect(res.data.notification).toBe("retrying");

    // A Notify failure Task that failed does not become the reason either.
    const notified = new Script().begin().run("sfm").submitted().fail("sfm", 60, "States.TaskFailed", processingCause("the ZIP holds no photos"));
    notified.events.push({ id: 99, timestamp: notified.now, type: "TaskFailed", stateName: "Notify failure", error: "Spaceport.EmailNotSent", cause: "550" });
    const status = await deriveJobStatus(notified.record("RUNNING"), notified.events, { pipeline: spaceport });
    expect(status.failure?.reason).toBe("the ZIP holds no photos");
  });

  it("unknown ids give 404, ids of the wrong shape 400, another client's job 404", async () => {
    const h = harness();
    withJob(h, new Script().begin(), "RUNNING", { client: "scripts" });
    expect([(await get(h)).status, (await get(h)).data.error.field]).toEqual([404, "id"]);
    const unknown = await get(h, "20261126-093012-ffffffff");
    expect([unknown.status, unknown.data.error.field]).toEqual([404, "id"]);
    for (const bad of ["abc", "20261126-093012-1A2B3C4D", "..%2F..%2Fetc", "%E0%A4%A", "20261126-093012-1a2b3c4d-x", "%00"]) {
      const res = await get(h, bad);
      expect([bad, res.status, res.data.error.field]).toEqual([bad, 400, "id"]);
    }
    expect((await h.call({ method: "GET", path: `/jobs/${JOB}/extra` })).status).toBe(404);
    expect((await h.call({ method: "DELETE", path: `/jobs/${JOB}` })).status).toBe(405);
  });

  it("requires an API key", async () => {
    const h = harness();
    withJob(h, new Script().begin(), "RUNNING");
    const res = await h.call({ method: "GET", path: `/jobs/${JOB}`, headers: { authorization: undefined } });
    expect([res.status, res.data.error.field]).toEqual([401, "Authorization"]);
  });
});
