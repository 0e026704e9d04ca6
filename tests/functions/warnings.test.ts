/**
 * Warnings of a job that succeeded: read from the delivery's report.json (where the compressor
 * gathers every stage's), shown by GET /jobs/{id} as `warnings: [{stage, code, message}]` and
 * listed in the success email, which then says the job "succeeded with warnings".
 */
import { describe, expect, it } from "@jest/globals";
import { notify, type NotifyDeps } from "../../functions/notify/handler.js";
import { renderSuccessEmail } from "../../functions/notify/templates.js";
import { readDeliveryWarnings, warningsOf } from "../../functions/warnings.js";
import { FakeExecutions, MemoryStore, PROCESSING, RecordingLogger, RecordingMailer, harness, testConfig } from "./helpers.js";
import { JOB, Script } from "./scripts.js";

const NOT_METRIC = { stage: "sfm", code: "georeference-not-metric", message: "The model is not reliably metric: the photos' GPS positions disagree with the reconstructed cameras by 121.4 m RMS (30% of the site's 402 m extent)." };
const BLURRY = { stage: "gaussian-splatting", code: "blurry", message: "The model is blurry <check focus>" };
const REPORT_KEY = `jobs/${JOB}/delivery/report.json`;

function succeededScript(): Script {
  const script = new Script().begin();
  for (const [stage, s] of [["sfm", 1200], ["gaussian-splatting", 5400], ["compressor", 600]] as const) script.run(stage).submitted().succeed(stage, s);
  return script.notify("succeeded");
}

describe("warnings: the delivery report's list", () => {
  it("keeps only well-formed entries, capped", () => {
    expect(warningsOf({ warnings: [NOT_METRIC, { stage: "x", code: 1, message: "m" }, "text", null] })).toEqual([NOT_METRIC]);
    expect(warningsOf({ warnings: "none" })).toEqual([]);
    expect(warningsOf(null)).toEqual([]);
    expect(warningsOf({ warnings: Array.from({ length: 80 }, () => NOT_METRIC) })).toHaveLength(50);
  });

  it("a missing or damaged report has none", async () => {
    const store = new MemoryStore();
    expect(await readDeliveryWarnings(store, PROCESSING, REPORT_KEY)).toEqual([]);
    store.add(PROCESSING, REPORT_KEY, 0, "{not json");
    expect(await readDeliveryWarnings(store, PROCESSING, REPORT_KEY)).toEqual([]);
  });
});

describe("GET /jobs/{id}: warnings on a succeeded job", () => {
  it("lists every stage's warnings with the stage's name", async () => {
    const h = harness();
    const script = succeededScript().finish("succeeded");
    h.executions.records.set(JOB, script.record("SUCCEEDED"));
    h.executions.histories.set(JOB, script.events);
    h.store.add(PROCESSING, REPORT_KEY, 0, JSON.stringify({ stage: "compressor", warnings: [NOT_METRIC, BLURRY] }));
    const res = await h.call({ method: "GET", path: `/jobs/${JOB}` });
    expect(res.status).toBe(200);
    expect(res.data.state).toBe("succeeded");
    expect(res.data.warnings).toEqual([NOT_METRIC, BLURRY]);
  });

  it("an empty list when the stages warned about nothing", async () => {
    const h = harness();
    const script = succeededScript().finish("succeeded");
    h.executions.records.set(JOB, script.record("SUCCEEDED"));
    h.executions.histories.set(JOB, script.events);
    h.store.add(PROCESSING, REPORT_KEY, 0, JSON.stringify({ stage: "compressor", warnings: [] }));
    expect((await h.call({ method: "GET", path: `/jobs/${JOB}` })).data.warnings).toEqual([]);
  });
});

describe("success email with warnings", () => {
  const base = { jobId: JOB, links: { viewer: "https://x/v", preview: "https://x/p", scene: "https://x/s" }, counts: {}, durations: [], costUsd: 1, linkLifetime: "The links work for 30 days." };

  it("says the job succeeded with warnings and lists them, escaped, by stage", async () => {
    const store = new MemoryStore();
    store.add(PROCESSING, REPORT_KEY, 0, JSON.stringify({ stage: "compressor", gaussians: { delivered: 5 }, warnings: [NOT_METRIC, BLURRY] }));
    const mailer = new RecordingMailer();
    const executions = new FakeExecutions();
    const script = succeededScript();
    executions.records.set(JOB, script.record("RUNNING"));
    executions.histories.set(JOB, script.events);
    const deps: NotifyDeps = { store, mailer, executions, log: new RecordingLogger().log, metric: () => {}, now: () => script.now };
    await notify({ jobId: JOB, email: "a@example.com", status: "succeeded", deliveryUri: `s3://${PROCESSING}/jobs/${JOB}/delivery/` }, deps, testConfig());
    const email = mailer.sent[0]!;
    expect(email.subject).toBe(`Your 3D model is ready, with warnings (job ${JOB})`);
    expect(email.text).toContain(`The job succeeded with warnings:\n  - Photo alignment (structure from motion): ${NOT_METRIC.message}\n  - 3D model training (Gaussian splatting): The model is blurry <check focus>`);
    expect(email.html).toContain("The job succeeded with warnings:");
    expect(email.html).toContain("The model is blurry &lt;check focus&gt;");
    expect(email.html).not.toContain("<check focus>");
  });

  it("no warnings: the email is as before", () => {
    const plain = renderSuccessEmail(base);
    expect(plain.subject).toBe(`Your 3D model is ready (job ${JOB})`);
    expect(plain.text).not.toContain("warnings");
    expect(renderSuccessEmail({ ...base, warnings: [] })).toEqual(plain);
  });
});
