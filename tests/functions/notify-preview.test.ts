/**
 * notify's preview email (the delivering stage's early run): marked as a preview, at most one
 * per job whatever the round, and what it changes in the later emails.
 */
import { describe, expect, it } from "@jest/globals";
import { notify } from "../../functions/notify/handler.js";
import { readNotification } from "../../functions/notify/state.js";
import { FakeExecutions, MemoryStore, PROCESSING, RecordingLogger, RecordingMailer, testConfig } from "./helpers.js";
import { JOB } from "./scripts.js";

const EMAIL = "jane.doe@example.com";
const DELIVERY = `https://d123.cloudfront.net/jobs/${JOB}/delivery/`;
const base = { jobId: JOB, email: EMAIL, options: { quality: "standard" }, stages: {}, pipeline: "spaceport-ml", deliveryUri: `s3://${PROCESSING}/jobs/${JOB}/delivery/` };

function setup() {
  const store = new MemoryStore();
  store.add(PROCESSING, `jobs/${JOB}/delivery/report.json`, 0, JSON.stringify({ output: { sogBytes: 999 } }));
  store.add(PROCESSING, `jobs/${JOB}/delivery/scene.sog`, 999);
  const mailer = new RecordingMailer();
  const deps = { store, mailer, executions: new FakeExecutions(), log: new RecordingLogger().log, metric: () => undefined };
  return { store, mailer, deps, config: testConfig() };
}

describe("notify: the preview email", () => {
  it("says it is a preview that the final model replaces at the same link", async () => {
    const t = setup();
    const result = await notify({ ...base, status: "preview" }, t.deps, t.config);
    expect(result).toMatchObject({ status: "preview", sent: true });
    const email = t.mailer.sent[0]!;
    expect(email.subject).toBe(`Preview: a first look at your 3D model (job ${JOB})`);
    expect(email.text).toContain("This is a preview, made from the model early in training");
    expect(email.text).toContain("the final model replaces this preview at the same link");
    expect(email.text).toContain(`Open the preview in your browser: ${DELIVERY}index.html`);
    expect(email.html).toContain("<strong>Preview.</strong>");
    expect((await readNotification(t.store, PROCESSING, JOB, "preview"))?.state).toBe("sent");
  });

  it("is sent once per job: a repeated call and a retried round send nothing more", async () => {
    const t = setup();
    await notify({ ...base, status: "preview" }, t.deps, t.config);
    expect(await notify({ ...base, status: "preview" }, t.deps, t.config)).toMatchObject({ sent: false });
    expect(await notify({ ...base, status: "preview", redriveCount: 1 }, t.deps, t.config)).toMatchObject({ sent: false });
    expect(t.mailer.sent).toHaveLength(1);
  });

  it("after it, the result says it replaced the preview, and a failure that the links show only the preview", async () => {
    const t = setup();
    await notify({ ...base, status: "preview" }, t.deps, t.config);
    await notify({ ...base, status: "succeeded" }, t.deps, t.config);
    expect(t.mailer.sent[1]!.text).toContain("it has replaced the preview we sent earlier, at the same links");
    const f = setup();
    await notify({ ...base, status: "preview" }, f.deps, f.config);
    await notify({ ...base, status: "failed", failure: { stage: "gaussian-splatting", error: { Error: "States.TaskFailed", Cause: "out of memory" } } }, f.deps, f.config);
    expect(f.mailer.sent[1]!.text).toContain("What went wrong:");
    expect(f.mailer.sent[1]!.text).toContain("shows only the preview made early in training, not a finished model");
  });

  it("without a preview the emails say nothing of one", async () => {
    const t = setup();
    await notify({ ...base, status: "succeeded" }, t.deps, t.config);
    expect(t.mailer.sent[0]!.text).not.toMatch(/preview we sent|only the preview/);
  });
});
