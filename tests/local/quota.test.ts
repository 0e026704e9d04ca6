/**
 * Quotas: three jobs submitted at once against a quota of one instance per job kind. The
 * emulator answers ResourceLimitExceeded while the instance is in use, the state machine's own
 * Retry makes each job wait, and all three succeed, one stage at a time per quota.
 */
import { join } from "node:path";
import { QUOTA_ERRORS } from "../../pipeline/index.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices } from "../../pipeline/local/services.js";
import { tempDir, testConfig, testPipeline, writeZip } from "./fixtures.js";

describe("local runtime: quotas", () => {
  it("runs three simultaneous jobs one after another within a quota of one, waits in the history", async () => {
    const dir = tempDir("quota");
    const services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(1),
      pipeline: testPipeline(dir, {}, { environment: { PREP_SLEEP: "0.4", TRAIN_SLEEP: "0.2" } }),
      port: 0,
      env: {},
      retry: { quotaMs: 100, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 0,
    });
    try {
      const submit = async (i: number) => {
        const input = services.upload(writeZip(join(dir, `photos-${i}.zip`)));
        const response = await fetch(`${services.baseUrl}/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ input, email: `pilot${i}@example.com` }),
        });
        expect(response.status).toBe(202);
        return ((await response.json()) as { jobId: string }).jobId;
      };
      const jobIds = await Promise.all([1, 2, 3].map(submit));
      expect(new Set(jobIds).size).toBe(3);
      const records = await Promise.all(jobIds.map((id) => services.runtime.executions.wait(id)));
      expect(records.map((r) => r?.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);

      // Never two jobs of one instance type and kind at once.
      const jobs = jobIds.flatMap((id) => services.runtime.store.sageMakerJobsOf(id));
      expect(jobs).toHaveLength(9);
      for (const kind of ["processing", "training"] as const) {
        const spans = jobs.filter((j) => j.kind === kind).map((j) => [j.created.getTime(), j.ended!.getTime()] as const).sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
      }

      // The waits are the state machine's: ResourceLimitExceeded, then the same Task scheduled again.
      const histories = await Promise.all(jobIds.map((id) => services.runtime.executions.history(id)));
      const waits = histories.map((h) => h.filter((e) => e.type === "TaskSubmitFailed" && QUOTA_ERRORS.includes(e.error ?? "")));
      const waited = waits.filter((w) => w.length > 0).length;
      expect(waited).toBeGreaterThanOrEqual(2);
      for (const history of histories) {
        history.forEach((event, i) => {
          if (event.type !== "TaskSubmitFailed") return;
          expect(event.cause).toMatch(/ml\.c6i\.xlarge for processing job usage|ml\.g4dn\.xlarge for training job usage/);
          const next = history.slice(i + 1).find((e) => e.stateName === event.stateName);
          expect(next?.type).toBe("TaskScheduled");
        });
        // Waiting is not failing: no job ran its failure branch.
        expect(history.some((e) => e.stateName?.startsWith("Check "))).toBe(false);
      }
    } finally {
      await services.close();
    }
  });
  it("jobs waiting for the quota start first come, first served", async () => {
    const dir = tempDir("quota-fifo");
    const services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(1),
      pipeline: testPipeline(dir, {}, { environment: { PREP_SLEEP: "0.25" } }),
      port: 0,
      env: {},
      // Short holds: waiters keep leaving (ResourceLimitExceeded) and coming back through the Retry.
      retry: { quotaMs: 30, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 120,
    });
    try {
      const jobIds: string[] = [];
      for (let i = 0; i < 7; i++) {
        const input = services.upload(writeZip(join(dir, `fifo-${i}.zip`)));
        const response = await fetch(`${services.baseUrl}/jobs`, {
          method: "POST",
          headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ input, email: `fifo${i}@example.com` }),
        });
        jobIds.push(((await response.json()) as { jobId: string }).jobId);
        // Each job asks for the instance before the next is submitted.
        await new Promise((r) => setTimeout(r, 40));
      }
      await Promise.all(jobIds.map((id) => services.runtime.executions.wait(id)));
      const started = jobIds
        .map((id) => ({ id, created: services.runtime.store.sageMakerJobsOf(id).find((j) => j.stage === "prep")!.created.getTime() }))
        .sort((a, b) => a.created - b.created)
        .map((j) => j.id);
      expect(started).toEqual(jobIds);
    } finally {
      await services.close();
    }
  }, 60_000);
});
