/**
 * Cancel on one machine: POST /jobs/{id}/cancel during the first stage stops the state machine
 * and the stage's process, the job reads `cancelled`, the submitter gets one email (and no
 * failure email), and the input is kept.
 */
import { join } from "node:path";
import { startLocalServices } from "../../pipeline/local/services.js";
import { startSmtp, tempDir, testConfig, testPipeline, writeZip } from "./fixtures.js";

const SLOW_PREP = `
echo "progress: 10% reading"
sleep 60
`;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("local runtime: cancel", () => {
  it("stops the execution and the stage process; cancelled, one email, input kept", async () => {
    const smtp = await startSmtp();
    const dir = tempDir("cancel");
    const services = await startLocalServices({
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(),
      pipeline: testPipeline(dir, { prep: SLOW_PREP }),
      port: 0,
      env: { SPACEPORT_SMTP_URL: smtp.url },
      retry: { quotaMs: 50, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 0,
      stopGraceMs: 500,
    });
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${services.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" } });
    try {
      const input = services.upload(writeZip(join(dir, "photos.zip")));
      const started = (await (await api("/jobs", { method: "POST", body: JSON.stringify({ input, email: "cancel@example.com" }) })).json()) as { jobId: string };
      const jobId = started.jobId;
      const job = await until("the prep process", () => {
        const row = services.runtime.store.sageMakerJobsOf(jobId).at(-1);
        return row?.pid !== undefined && services.runtime.store.getProgress(row.name) ? row : undefined;
      });
      expect(alive(job.pid!)).toBe(true);

      const cancel = await api(`/jobs/${jobId}/cancel`, { method: "POST" });
      expect(cancel.status).toBe(202);
      expect(await cancel.json()).toEqual({ jobId, state: "cancelled", stage: "prep" });
      expect(alive(job.pid!)).toBe(false);

      const status = (await (await api(`/jobs/${jobId}`)).json()) as { state: string; stages: { name: string; state: string }[]; failure?: unknown };
      expect(status.state).toBe("cancelled");
      expect(status.stages.map((s) => `${s.name}:${s.state}`)).toEqual(["prep:cancelled", "train:pending", "pack:pending"]);
      expect(status.failure).toBeUndefined();
      expect((await services.runtime.executions.describe(jobId))?.status).toBe("ABORTED");
      expect(services.runtime.store.getSageMakerJob(job.name)?.status).toBe("Stopped");
      const history = await services.runtime.executions.history(jobId);
      expect(history.map((e) => e.stateName).filter(Boolean)).not.toContain("Notify failure");

      // One email, the cancellation; a second cancel sends nothing more.
      expect((await api(`/jobs/${jobId}/cancel`, { method: "POST" })).status).toBe(202);
      await smtp.waitFor(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(smtp.messages).toHaveLength(1);
      expect(smtp.messages[0]!.text).toContain(`Job ${jobId} was cancelled`);

      // Input kept: the upload and the job's copy.
      const key = input.slice(`s3://${services.buckets.uploads}/`.length);
      expect(await services.objectStore.head(services.buckets.uploads, key)).toBeDefined();
      expect(await services.objectStore.head(services.buckets.processing, `jobs/${jobId}/input/photos.zip`)).toBeDefined();
    } finally {
      await services.close();
      await smtp.close();
    }
  }, 60_000);
});
