/**
 * Cancel and retry on one machine: POST /jobs/{id}/cancel during the first stage stops the
 * stage's process (the state machine ends at its retry gate), the job reads `cancelled`, the
 * submitter gets one email (no failure email), the input is kept; POST /jobs/{id}/retry reruns
 * a failed stage under a fresh job name without rerunning the stages that finished.
 */
import { join } from "node:path";
import { processAlive as alive, SCRIPTS, startSmtp, startTestServices, tempDir, until, writeZip, type StageScripts } from "./fixtures.js";

const SLOW_PREP = `
echo "progress: 10% reading"
sleep 60
`;



/** `spaceport dev` on a free port over the test pipeline with these stage scripts, and a fetch with its key. */
async function servicesWith(dir: string, smtpUrl: string, scripts: StageScripts) {
  const services = await startTestServices(dir, smtpUrl, scripts, { stopGraceMs: 500 });

  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${services.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" } });
  return { services, api };
}

describe("local runtime: cancel", () => {
  it("stops the execution and the stage process; cancelled, one email, input kept", async () => {
    const smtp = await startSmtp();
    const dir = tempDir("cancel");
    const { services, api } = await servicesWith(dir, smtp.url, { prep: SLOW_PREP });
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

      // The stopped stage ends the execution through its failure branch, at the retry gate.
      expect((await services.runtime.executions.wait(jobId))?.status).toBe("FAILED");
      expect(services.runtime.store.getSageMakerJob(job.name)?.status).toBe("Stopped");
      const history = await services.runtime.executions.history(jobId);
      expect(history.filter((e) => e.type.endsWith("StateEntered")).map((e) => e.stateName).slice(-4)).toEqual(["Check prep failure", "Record prep failure", "Notify failure", "Job failed"]);

      const status = (await (await api(`/jobs/${jobId}`)).json()) as { state: string; stages: { name: string; state: string }[]; failure?: unknown };
      expect(status.state).toBe("cancelled");
      expect(status.stages.map((s) => `${s.name}:${s.state}`)).toEqual(["prep:cancelled", "train:pending", "pack:pending"]);
      expect(status.failure).toBeUndefined();

      // One email, the cancellation (notify sent no failure email); a second cancel sends nothing more.
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

  it("retry reruns the failed training under a fresh name, reusing prep's output (no second prep job)", async () => {
    const smtp = await startSmtp();
    const dir = tempDir("retry");
    const flag = join(dir, "train-failed-once");
    // A fault injected once: the first training attempt fails with a reason, later ones run normally.
    const FLAKY_TRAIN = `
if [ ! -f "${flag}" ]; then
  touch "${flag}"
  echo "the GPU ran out of memory" > "$SPACEPORT_OPT_ML/output/failure"
  exit 1
fi
${SCRIPTS.train}`;
    const { services, api } = await servicesWith(dir, smtp.url, { train: FLAKY_TRAIN });
    try {
      const input = services.upload(writeZip(join(dir, "photos.zip")));
      const { jobId } = (await (await api("/jobs", { method: "POST", body: JSON.stringify({ input, email: "retry@example.com" }) })).json()) as { jobId: string };
      expect((await services.runtime.executions.wait(jobId))?.status).toBe("FAILED");
      const failed = (await (await api(`/jobs/${jobId}`)).json()) as { state: string; failure: { stage: string; reason: string } };
      expect(failed.state).toBe("failed");
      expect(failed.failure).toMatchObject({ stage: "train", reason: "the GPU ran out of memory" });
      await smtp.waitFor(1);

      const retry = await api(`/jobs/${jobId}/retry`, { method: "POST" });
      expect(retry.status).toBe(202);
      expect(await retry.json()).toMatchObject({ jobId, state: "running", from: "train" });
      expect((await services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");

      const done = (await (await api(`/jobs/${jobId}`)).json()) as { state: string; stages: { name: string; state: string; attempts: number; jobName: string }[]; delivery?: unknown };
      expect(done.state).toBe("succeeded");
      expect(done.delivery).toBeDefined();
      expect(done.stages.map((s) => `${s.name}:${s.state}:${s.jobName}`)).toEqual([`prep:succeeded:${jobId}-prep-1`, `train:succeeded:${jobId}-train-2`, `pack:succeeded:${jobId}-pack-1`]);
      // One prep job ever: its output was reused. Training: the failed attempt and a fresh name.
      expect(services.runtime.store.sageMakerJobsOf(jobId).map((j) => `${j.name}:${j.status}`)).toEqual([`${jobId}-prep-1:Completed`, `${jobId}-train-1:Failed`, `${jobId}-train-2:Completed`, `${jobId}-pack-1:Completed`]);
      const history = await services.runtime.executions.history(jobId);
      expect(history.filter((e) => e.type === "ExecutionRedriven")).toHaveLength(1);
      // Two emails: the failure, then the success.
      const mails = await smtp.waitFor(2);
      expect(mails.map((m) => /Subject: (.*)/.exec(m.raw)?.[1]?.trim())).toEqual([`Your 3D model could not be made (job ${jobId})`, `Your 3D model is ready (job ${jobId})`]);
      // A succeeded job has nothing to retry.
      expect((await api(`/jobs/${jobId}/retry`, { method: "POST" })).status).toBe(409);
    } finally {
      await services.close();
      await smtp.close();
    }
  }, 60_000);
});
