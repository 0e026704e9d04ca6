/**
 * Notification kept apart from the job's outcome, locally: an email the SMTP server refuses is
 * retried with backoff, by the state machine's email retrier (the same definition as on AWS) and
 * by the runtime itself for jobs failed in recovery; GET /jobs/{id} shows `notification`, and
 * the failure reason stays the job's own.
 */
import { join } from "node:path";
import { MAX_NOTIFY_ATTEMPTS } from "../../functions/notify/state.js";
import { DataDir } from "../../pipeline/local/data.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices, type LocalServices } from "../../pipeline/local/services.js";
import { JobStore } from "../../pipeline/local/store.js";
import { startSmtp, startTestServices, tempDir, testConfig, testPipeline, until, writeZip } from "./fixtures.js";

const FAILING_PREP = 'echo "the photos have no GPS" > "$SPACEPORT_OPT_ML/output/message"\nexit 2\n';

async function setup(label: string, rejectFirst: number, scripts = {}) {
  const dir = tempDir(label);
  let refused = 0;
  const smtp = await startSmtp({ rejectRecipient: () => refused++ < rejectFirst });
  const services = await startTestServices(dir, smtp.url, scripts, { emailMs: 40 });

  return { dir, smtp, services, refusals: () => refused };
}

async function status(services: LocalServices, jobId: string) {
  const response = await fetch(`${services.baseUrl}/jobs/${jobId}`, { headers: { authorization: `Bearer ${services.apiKey}` } });
  return (await response.json()) as { state: string; notification?: string; failure?: { reason: string } };
}

async function submit(services: LocalServices, dir: string, email: string): Promise<string> {
  const input = services.upload(writeZip(join(dir, `${email}.zip`)));
  const response = await fetch(`${services.baseUrl}/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ input, email }),
  });
  return ((await response.json()) as { jobId: string }).jobId;
}

describe("local runtime: notification retried with backoff, shown apart from the outcome", () => {
  it("the state machine retries a refused failure email and then sends it; the reason stays the stage's", async () => {
    const t = await setup("notify-sm", 2, { prep: FAILING_PREP });
    try {
      const jobId = await submit(t.services, t.dir, "retry@example.com");
      expect((await t.services.runtime.executions.wait(jobId))?.status).toBe("FAILED");
      const history = await t.services.runtime.executions.history(jobId);
      expect(history.filter((e) => e.stateName === "Notify failure" && e.error === "Spaceport.EmailNotSent")).toHaveLength(2);
      const body = await status(t.services, jobId);
      expect(body).toMatchObject({ state: "failed", notification: "sent", failure: { reason: "the photos have no GPS" } });
      expect(t.smtp.messages.filter((m) => m.to.includes("retry@example.com"))).toHaveLength(1);
    } finally {
      await t.services.close();
      await t.smtp.close();
    }
  }, 60_000);

  it("gives up after the last attempt: notification failed, the job's outcome untouched", async () => {
    const t = await setup("notify-gaveup", 1000);
    try {
      const jobId = await submit(t.services, t.dir, "never@example.com");
      expect((await t.services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
      expect(t.refusals()).toBe(MAX_NOTIFY_ATTEMPTS);
      expect(await status(t.services, jobId)).toMatchObject({ state: "succeeded", notification: "failed" });
    } finally {
      await t.services.close();
      await t.smtp.close();
    }
  }, 60_000);

  it("a job failed by recovery whose email is refused is retried until sent, and its reason is the runtime's", async () => {
    const dir = tempDir("notify-recovery");
    const data = join(dir, "data");
    // A job left RUNNING by a runtime that died (a pid that cannot exist).
    const store = new JobStore(new DataDir(data).database);
    const jobId = "20261201-080000-0badc0de";
    const input = JSON.stringify({ jobId, inputUri: "s3://x/jobs/a/input/photos.zip", email: "crash@example.com", options: {}, client: "local" });
    store.insertExecution(jobId, input, new Date(), { pid: 2 ** 22 + 1, start: "gone" });
    store.close();
    let refused = 0;
    const smtp = await startSmtp({ rejectRecipient: () => refused++ < 3 });
    const services = await startLocalServices({
      handlers,
      dataDir: data, environment: "test", config: testConfig(), pipeline: testPipeline(dir), port: 0,
      env: { SPACEPORT_SMTP_URL: smtp.url }, retry: { emailMs: 60 },
    });
    try {
      expect(services.recovered).toEqual([expect.objectContaining({ jobId, notification: expect.objectContaining({ state: "retrying", error: expect.stringMatching(/550/) }) })]);
      const first = await status(services, jobId);
      expect(first.failure?.reason).toMatch(/^the local runtime stopped \(process \d+ exited\)/);
      expect(first.notification).toBe("retrying");
      await until("the email to be sent", () => smtp.messages.find((m) => m.to.includes("crash@example.com")), 10_000);
      await until("notification: sent", async () => (await status(services, jobId)).notification === "sent");
      expect(refused).toBe(4);
      expect(services.runtime.store.pendingNotifications()).toEqual([]);
    } finally {
      await services.close();
      await smtp.close();
    }
  }, 60_000);
});
