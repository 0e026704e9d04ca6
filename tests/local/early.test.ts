/**
 * A first link early, on one machine: the test pipeline's training stage declares an early
 * model and the delivering stage consumes it (earlyInputs). The train script writes its early
 * model, then keeps running until the test lets it go; meanwhile the state machine's Parallel
 * finds the early model, runs pack on it into the delivery location and sends the preview
 * email. Real SMTP, real HTTP, the compiled ASL in aws-local-stepfunctions.
 */
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LocalServices } from "../../pipeline/local/services.js";
import { processAlive, SCRIPTS, startSmtp, startTestServices, tempDir, until, writeZip, type StageScripts } from "./fixtures.js";

/** Writes the early model (for standard and high) as the trainer does, then waits for `go`; `after` runs before the final model. */
const trainScript = (go: string, after = "") => `
cfg="$SPACEPORT_OPT_ML/input/config/hyperparameters.json"
cp "$cfg" "$SPACEPORT_OPT_ML/model/hyperparameters.json"
echo "step=1/2 loss=0.5 psnr=20.0"
if [ -n "\${SPACEPORT_EARLY_OUTPUT_MODEL:-}" ] && ! grep -q '"quality": "preview"' "$cfg"; then
  early="$SPACEPORT_OPT_ML/\${SPACEPORT_EARLY_OUTPUT_MODEL#/opt/ml/}"
  work="$SPACEPORT_OPT_ML/early-work"
  mkdir -p "$early" "$work"
  echo "early ply" > "$work/point_cloud.ply"
  tar -czf "$early/model.tar.gz.tmp" -C "$work" . && mv "$early/model.tar.gz.tmp" "$early/model.tar.gz"
  touch "$early/_complete"
fi
echo "progress: 50% training"
for i in $(seq 1 600); do [ -f "${go}" ] && break; sleep 0.1; done
${after}
echo "final ply" > "$SPACEPORT_OPT_ML/model/point_cloud.ply"
echo "progress: 100% trained"
`;

/** pack, saying in its page and report whether it made the preview. */
const packScript = (previewHook = "") => `
in="$SPACEPORT_OPT_ML/processing/input/model/model.tar.gz"
out="$SPACEPORT_OPT_ML/processing/output/delivery"
kind=final; [ "\${SPACEPORT_PREVIEW:-}" = 1 ] && kind=preview
if [ "$kind" = preview ]; then :; ${previewHook}
fi
mkdir -p "$out/unpacked"
tar -xzf "$in" -C "$out/unpacked"
echo "<html><body>viewer $kind: $(cat "$out/unpacked/point_cloud.ply")</body></html>" > "$out/index.html"
echo "sog" > "$out/scene.sog"
echo "webp" > "$out/preview.webp"
echo "{\\"gaussians\\": 3, \\"preview\\": $([ $kind = preview ] && echo true || echo false)}" > "$out/report.json"
echo "progress: 100% packed"
`;

interface Status {
  state: string;
  stage: string | null;
  stages: { name: string; state: string }[];
  delivery?: Record<string, string>;
  preview?: { state: string; note: string; jobName?: string; links?: Record<string, string>; reason?: string };
  warnings?: { stage: string; code: string; message: string }[];
  failure?: { reason: string };
}

async function start(label: string, scripts: StageScripts) {
  const smtp = await startSmtp();
  const dir = tempDir(label);
  const services = await startTestServices(dir, smtp.url, { pack: packScript(), ...scripts }, { stopGraceMs: 500 }, { early: true });
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`${services.baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" } });
  const status = async (jobId: string) => (await (await api(`/jobs/${jobId}`)).json()) as Status;
  const submit = async (quality = "standard") => {
    const input = services.upload(writeZip(join(dir, "photos.zip")));
    const response = await api("/jobs", { method: "POST", body: JSON.stringify({ input, email: "early@example.com", options: { quality } }) });
    expect(response.status).toBe(202);
    return ((await response.json()) as { jobId: string }).jobId;
  };
  const close = async () => {
    await services.close();
    await smtp.close();
  };
  return { smtp, dir, services, api, status, submit, close, go: join(dir, "go") };
}

const text = async (url: string) => (await fetch(url)).text();
/** No email beyond `n` arrives within half a second. */
async function exactly(smtp: { messages: unknown[]; waitFor: (n: number) => Promise<unknown> }, n: number) {
  await smtp.waitFor(n);
  await new Promise((r) => setTimeout(r, 500));
  expect(smtp.messages).toHaveLength(n);
}
const runningJobs = (services: LocalServices, jobId: string) => services.runtime.store.sageMakerJobsOf(jobId).filter((j) => j.status === "InProgress");

describe("local runtime: a first link early", () => {
  it("delivers the preview while training runs, then the final at the same link; two emails", async () => {
    const go = join(tempDir("go"), "go");
    const t = await start("early", { train: trainScript(go) });
    try {
      const jobId = await t.submit();
      const early = await until("the preview in the status", async () => {
        const s = await t.status(jobId);
        return s.preview?.state === "delivered" ? s : undefined;
      });
      // Training has not ended: the status shows the preview link, marked as a preview.
      expect(early.state).toBe("running");
      expect(early.stages.map((s) => `${s.name}:${s.state}`)).toEqual(["prep:succeeded", "train:running", "pack:pending"]);
      expect(early.preview!.note).toMatch(/^preview: /);
      expect(early.delivery).toBeUndefined();
      const link = early.preview!.links!["viewer"]!;
      expect(await text(link)).toContain("viewer preview: early ply");
      await t.smtp.waitFor(1);
      expect(t.smtp.messages[0]!.text).toMatch(/Subject: Preview: a first look at your 3D model/);
      expect(t.smtp.messages[0]!.text).toContain(link);

      writeFileSync(go, "");
      expect((await t.services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
      const final = await t.status(jobId);
      expect(final.state).toBe("succeeded");
      expect(final.preview).toBeUndefined();
      expect(final.delivery!["viewer"]).toBe(link);
      expect(await text(link)).toContain("viewer final: final ply");
      await exactly(t.smtp, 2);
      expect(t.smtp.messages[1]!.text).toContain("Your 3D model is ready");
      expect(t.smtp.messages[1]!.text).toContain("replaced the preview");
      // The preview ran as its own SageMaker job of the same stage.
      expect(t.services.runtime.store.sageMakerJobsOf(jobId).map((j) => `${j.stage}:${j.name.slice(jobId.length + 1)}`)).toEqual([
        "prep:prep-1", "train:train-1", "pack:pack-p0", "pack:pack-1",
      ]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("training that fails after the preview: the failure email says why and that the link shows only the preview", async () => {
    const go = join(tempDir("go"), "go");
    const once = join(tempDir("once"), "failed-once");
    const failOnce = `if [ ! -f "${once}" ]; then touch "${once}"; echo "the GPU fell over" > "$SPACEPORT_OPT_ML/output/failure"; exit 1; fi`;
    const t = await start("early-fail", { train: trainScript(go, failOnce) });
    try {
      const jobId = await t.submit();
      await until("the preview email", () => t.smtp.messages.length === 1);
      await until("the preview notified", async () => (await t.services.runtime.executions.history(jobId)).some((e) => e.type === "TaskStateExited" && e.stateName === "Notify preview"));
      writeFileSync(go, "");
      expect((await t.services.runtime.executions.wait(jobId))?.status).toBe("FAILED");
      await exactly(t.smtp, 2);
      const failure = t.smtp.messages[1]!.text;
      expect(failure).toContain("the GPU fell over");
      expect(failure).toContain("shows only the preview");
      const s = await t.status(jobId);
      expect(s.state).toBe("failed");
      expect(s.failure?.reason).toContain("the GPU fell over");
      expect(s.stages.map((x) => `${x.name}:${x.state}`)).toEqual(["prep:succeeded", "train:failed", "pack:pending"]);
      expect(s.preview).toMatchObject({ state: "delivered", note: "the links show only a preview made early in training, not a finished model" });

      // A retry reruns training under a fresh job name (the attempt taken over from the branch). It
      // may make the preview again (pack-p1) or end before the next look; either way one preview email.
      expect((await t.api(`/jobs/${jobId}/retry`, { method: "POST" })).status).toBe(202);
      await until("the retried job", async () => (await t.status(jobId)).state === "succeeded", 30_000);
      await exactly(t.smtp, 3);
      expect(t.smtp.messages[2]!.text).toContain("Your 3D model is ready");
      const names = t.services.runtime.store.sageMakerJobsOf(jobId).map((j) => j.name.slice(jobId.length + 1));
      expect(names.filter((n) => n !== "pack-p1")).toEqual(["prep-1", "train-1", "pack-p0", "train-2", "pack-1"]);
      expect(t.smtp.messages.filter((m) => /Subject: Preview/.test(m.text))).toHaveLength(1);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a preview that fails does not fail the job: a warning, one email", async () => {
    const go = join(tempDir("go"), "go");
    const t = await start("early-pack-fail", { train: trainScript(go), pack: packScript('echo "preview broke" > "$SPACEPORT_OPT_ML/output/message"; exit 1') });
    try {
      const jobId = await t.submit();
      const failed = await until("the failed preview in the status", async () => {
        const s = await t.status(jobId);
        return s.preview?.state === "failed" ? s : undefined;
      });
      expect(failed.state).toBe("running");
      expect(failed.preview!.reason).toContain("preview broke");
      writeFileSync(go, "");
      expect((await t.services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
      const s = await t.status(jobId);
      expect(s.state).toBe("succeeded");
      expect(s.warnings).toEqual([expect.objectContaining({ stage: "pack", code: "preview-failed", message: expect.stringContaining("preview broke") })]);
      await exactly(t.smtp, 1);
      expect(t.smtp.messages[0]!.text).toContain("with warnings");
      expect(await text(s.delivery!["viewer"]!)).toContain("viewer final");
    } finally {
      await t.close();
    }
  }, 60_000);

  it("no early output (preview quality): no preview, one email", async () => {
    const t = await start("early-none", { train: trainScript("/nonexistent", "").replace(/^for i in .*$/m, "") });
    try {
      const jobId = await t.submit("preview");
      expect((await t.services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
      const s = await t.status(jobId);
      expect(s.state).toBe("succeeded");
      expect(s.preview).toBeUndefined();
      await exactly(t.smtp, 1);
      expect(t.smtp.messages[0]!.text).not.toContain("preview we sent");
      const history = await t.services.runtime.executions.history(jobId);
      expect(history.some((e) => e.stateName === "No preview")).toBe(true);
      expect(t.services.runtime.store.sageMakerJobsOf(jobId).map((j) => j.stage)).toEqual(["prep", "train", "pack"]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a runtime stopped after the preview: the failure names the training stage, not the preview run, and says the link shows only the preview", async () => {
    const go = join(tempDir("go"), "go");
    const t = await start("early-stop", { train: trainScript(go) });
    let closed = false;
    try {
      const jobId = await t.submit();
      // The preview notified (its record written), not only its email received.
      await until("the preview notified", async () => (await t.services.runtime.executions.history(jobId)).some((e) => e.type === "TaskStateExited" && e.stateName === "Notify preview"));
      const recovered = await t.services.close();
      closed = true;
      expect(recovered.map((r) => [r.jobId, r.stage])).toEqual([[jobId, "train"]]);
      await t.smtp.waitFor(2);
      expect(t.smtp.messages[1]!.text).toContain("in stage train");
      expect(t.smtp.messages[1]!.text).toContain("shows only the preview");
    } finally {
      if (!closed) await t.services.close();
      await t.smtp.close();
    }
  }, 60_000);

  it("cancel during the parallel part stops both branches' jobs", async () => {
    const go = join(tempDir("go"), "go");
    const t = await start("early-cancel", { train: trainScript(go), pack: packScript("sleep 60") });
    try {
      const jobId = await t.submit();
      const both = await until("training and the preview running", () => {
        const jobs = runningJobs(t.services, jobId);
        return jobs.length === 2 && jobs.every((j) => j.pid !== undefined) ? jobs : undefined;
      });
      expect(both.map((j) => j.stage).sort()).toEqual(["pack", "train"]);
      const cancel = await t.api(`/jobs/${jobId}/cancel`, { method: "POST" });
      expect(cancel.status).toBe(202);
      await t.services.runtime.executions.wait(jobId);
      await until("both processes gone", () => both.every((j) => !processAlive(j.pid!)));
      for (const j of both) expect(t.services.runtime.store.getSageMakerJob(j.name)?.status).toBe("Stopped");
      const s = await t.status(jobId);
      expect(s.state).toBe("cancelled");
      await exactly(t.smtp, 1);
      expect(t.smtp.messages[0]!.text).toContain("was cancelled");
      expect(existsSync(go)).toBe(false);
    } finally {
      await t.close();
    }
  }, 60_000);
});
