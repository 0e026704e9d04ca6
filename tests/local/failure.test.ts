/**
 * Failures as the pilot sees them: a stage that writes a reason and exits non-zero, and a stage
 * that runs past its MaxRuntimeInSeconds, each reaching the failure email with its reason.
 */
import { join } from "node:path";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices, type LocalServices } from "../../pipeline/local/services.js";
import { startSmtp, tempDir, testConfig, testPipeline, writeZip } from "./fixtures.js";

const CRASH = `
echo "progress: 30% placing photos"
echo "only 3 of 40 photos could be placed; fly with at least 70% forward and 60% side overlap" > "$SPACEPORT_OPT_ML/output/failure"
echo "only 3 of 40 photos could be placed; fly with at least 70% forward and 60% side overlap" > "$SPACEPORT_OPT_ML/output/message"
exit 3
`;
const HANG = `
echo "progress: 5% starting"
sleep 30
`;

async function submit(services: LocalServices, dir: string, name: string): Promise<string> {
  const input = services.upload(writeZip(join(dir, `${name}.zip`)));
  const response = await fetch(`${services.baseUrl}/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ input, email: `${name}@example.com` }),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobId: string }).jobId;
}

describe("local runtime: failing stages", () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp();
  });
  afterAll(async () => smtp?.close());

  async function runWith(label: string, pipeline: (dir: string) => ReturnType<typeof testPipeline>) {
    const dir = tempDir(label);
    const services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(),
      pipeline: pipeline(dir),
      port: 0,
      env: { SPACEPORT_SMTP_URL: smtp.url },
      retry: { quotaMs: 50, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 0,
      stopGraceMs: 500,
    });
    try {
      const jobId = await submit(services, dir, label);
      const record = await services.runtime.executions.wait(jobId);
      const history = await services.runtime.executions.history(jobId);
      await waitForMail(smtp, `${label}@example.com`);
      return { jobId, record, history };
    } finally {
      await services.close();
    }
  }

  it("a stage that crashes with a reason fails the job and emails that reason", async () => {
    const { jobId, record, history } = await runWith("crash", (dir) => testPipeline(dir, { train: CRASH }));
    expect(record?.status).toBe("FAILED");
    // It fails at the retry gate, which a retry (redrive) passes.
    expect(record?.error).toBe("States.NoChoiceMatched");
    const states = history.filter((e) => e.type.endsWith("StateEntered")).map((e) => e.stateName);
    expect(states.slice(-5)).toEqual(["Run train", "Check train failure", "Record train failure", "Notify failure", "Job failed"]);
    // A crash is not transient: no second attempt, and pack never ran.
    expect(states).not.toContain("Prepare pack");
    const failed = history.find((e) => e.type === "TaskFailed" && e.stateName === "Run train")!;
    expect(failed.error).toBe("States.TaskFailed");
    const cause = JSON.parse(failed.cause!) as Record<string, unknown>;
    expect(cause["TrainingJobName"]).toBe(`${jobId}-train-1`);
    expect(cause["TrainingJobStatus"]).toBe("Failed");
    expect(cause["FailureReason"]).toBe("AlgorithmError: only 3 of 40 photos could be placed; fly with at least 70% forward and 60% side overlap");
    const mail = await waitForMail(smtp, "crash@example.com");
    expect(mail.text).toContain("only 3 of 40 photos could be placed; fly with at least 70% forward and 60% side overlap");
    expect(mail.text).not.toContain("AlgorithmError");
  });

  it("a stage past its MaxRuntimeInSeconds is stopped and the job fails with a timeout reason", async () => {
    const started = Date.now();
    const { jobId, record, history } = await runWith("timeout", (dir) => testPipeline(dir, { prep: HANG }, { timeouts: { prep: 2 } }));
    expect(Date.now() - started).toBeLessThan(15_000); // not the script's 30 s
    expect(record?.status).toBe("FAILED");
    expect(history.some((e) => e.type.endsWith("StateEntered") && e.stateName === "Record prep failure")).toBe(true);
    const failed = history.find((e) => e.type === "TaskFailed" && e.stateName === "Run prep")!;
    const cause = JSON.parse(failed.cause!) as Record<string, unknown>;
    expect(cause["ProcessingJobName"]).toBe(`${jobId}-prep-1`);
    expect(cause["ProcessingJobStatus"]).toBe("Failed");
    expect(cause["FailureReason"]).toBe("stage prep ran longer than its time limit of 2 s (MaxRuntimeInSeconds) and was stopped");
    const mail = await waitForMail(smtp, "timeout@example.com");
    expect(mail.text).toContain("ran longer than its time limit of 2 s");
  });
});

async function waitForMail(smtp: Awaited<ReturnType<typeof startSmtp>>, to: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const mail = smtp.messages.find((m) => m.to.includes(to));
    if (mail) return mail;
    if (Date.now() > deadline) throw new Error(`no email to ${to}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
