/**
 * A restart mid-job: `spaceport dev` (a real child process) is killed with SIGKILL while a stage
 * runs. The next runtime on the same data directory shows the job, stops the orphaned stage
 * program, marks the job failed with that reason and emails its submitter.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../pipeline/local/runtime.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices } from "../../pipeline/local/services.js";
import { JobStore } from "../../pipeline/local/store.js";
import { startSmtp, tempDir, testConfig, testPipeline, until, writeConfigFile, writeZip } from "./fixtures.js";

const SLOW_PREP = `
echo "progress: 20% working"
echo started > "$SPACEPORT_OPT_ML/processing/output/prepared/started"
sleep 60
`;

function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

describe("local runtime: restart mid-job", () => {
  let child: ChildProcess | undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    // Whatever a failed test left open must not keep jest alive.
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  });

  it("fails the interrupted job with the reason, stops its stage program and notifies the submitter", async () => {
    const dir = tempDir("restart");
    const data = join(dir, "data");
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const pipelineFile = join(dir, "pipeline.ts");
    writeFileSync(
      pipelineFile,
      `import { testPipeline } from ${JSON.stringify(join(REPO_ROOT, "tests/local/fixtures.ts"))};\n` +
        `export const pipeline = testPipeline(${JSON.stringify(dir)}, { prep: ${JSON.stringify(SLOW_PREP)} });\n`,
    );
    const configFile = writeConfigFile(dir);
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "stages/cli.ts"), "dev", "--port", "0", "--data-dir", data, "--env", "test", "--config", configFile, "--pipeline", pipelineFile],
      { cwd: REPO_ROOT, env: { ...process.env, SPACEPORT_SMTP_URL: smtp.url, SPACEPORT_API_KEY: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    const baseUrl = await until("spaceport dev to listen", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 40_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${output}`);
    });
    const apiKey = readFileSync(join(data, "api-key"), "utf8").trim();
    expect(output).toContain(apiKey);

    // The upload route, then the job.
    const upload = await fetch(`${baseUrl}/uploads/photos.zip`, { method: "PUT", headers: { authorization: `Bearer ${apiKey}` }, body: readFileSync(writeZip(join(dir, "photos.zip"))) });
    expect(upload.status).toBe(201);
    const { input } = (await upload.json()) as { input: string };
    const response = await fetch(`${baseUrl}/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ input, email: "restart@example.com" }),
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    const prepJob = `${jobId}-prep-1`;
    await until("the stage to run", () => existsSync(join(data, "sagemaker", prepJob, "opt/ml/processing/output/prepared/started")), 20_000);
    const store = new JobStore(join(data, "spaceport.db"));
    const stagePid = await until("the stage's pid", () => store.getSageMakerJob(prepJob)?.pid);
    store.close();
    expect(stagePid).toBeGreaterThan(0);

    // The runtime dies; its stage program does not.
    child.kill("SIGKILL");
    await until("the runtime to exit", () => child!.exitCode !== null || child!.signalCode !== null);
    expect(alive(stagePid!)).toBe(true);

    const services = await startLocalServices({
      handlers,
      dataDir: data,
      environment: "test",
      config: testConfig(),
      pipeline: testPipeline(dir, { prep: SLOW_PREP }),
      port: 0,
      env: { SPACEPORT_SMTP_URL: smtp.url },
    });
    cleanups.push(() => services.close());
    try {
      expect(services.recovered.map((r) => r.jobId)).toEqual([jobId]);
      const record = await services.runtime.executions.describe(jobId);
      expect(record?.status).toBe("FAILED");
      expect(record?.error).toBe("Spaceport.RuntimeStopped");
      expect(record?.cause).toMatch(/the local runtime stopped \(process \d+ exited\) while this job was running in stage prep/);
      expect(services.runtime.store.getSageMakerJob(prepJob)?.status).toBe("Failed");
      await until("the orphaned stage program to stop", () => !alive(stagePid!), 10_000);

      // Past jobs are still listed, with their history.
      expect(services.runtime.store.listExecutions().map((e) => e.name)).toContain(jobId);
      const history = await services.runtime.executions.history(jobId);
      expect(history.map((e) => e.type)).toEqual(expect.arrayContaining(["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]));

      // The submitter hears about it, with the reason.
      const mail = await until("the failure email", () => smtp.messages.find((m) => m.to.includes("restart@example.com")));
      expect(mail.text).toContain("the local runtime stopped");

      // And job-status reports it (the same API key works: it is kept in the data dir).
      const status = await fetch(`${services.baseUrl}/jobs/${jobId}`, { headers: { authorization: `Bearer ${apiKey}` } });
      expect(((await status.json()) as { state: string }).state).toBe("failed");

      // A second start recovers nothing more.
      expect(await services.runtime.recover()).toEqual([]);
    } finally {
      await services.close();
    }
  }, 120_000);

  it("Ctrl-C on spaceport dev fails the running job at once and notifies (email to the outbox)", async () => {
    const dir = tempDir("sigint");
    const data = join(dir, "data");
    const pipelineFile = join(dir, "pipeline.ts");
    writeFileSync(
      pipelineFile,
      `import { testPipeline } from ${JSON.stringify(join(REPO_ROOT, "tests/local/fixtures.ts"))};\n` +
        `export const pipeline = testPipeline(${JSON.stringify(dir)}, { prep: ${JSON.stringify(SLOW_PREP)} });\n`,
    );
    child = spawn(
      process.execPath,
      ["--import", "tsx", join(REPO_ROOT, "stages/cli.ts"), "dev", "--port", "0", "--data-dir", data, "--env", "test", "--config", writeConfigFile(dir), "--pipeline", pipelineFile],
      { cwd: REPO_ROOT, env: { ...process.env, SPACEPORT_SMTP_URL: "", SPACEPORT_API_KEY: "sp_test_key_0123456789abcdef" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    const baseUrl = await until("spaceport dev to listen", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 40_000);
    expect(output).toContain(`email      ${join(data, "outbox")} (.eml files)`);
    const auth = { authorization: "Bearer sp_test_key_0123456789abcdef" };
    const upload = await fetch(`${baseUrl}/uploads/photos.zip`, { method: "PUT", headers: auth, body: readFileSync(writeZip(join(dir, "photos.zip"))) });
    const { input } = (await upload.json()) as { input: string };
    const response = await fetch(`${baseUrl}/jobs`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ input, email: "sigint@example.com" }) });
    const { jobId } = (await response.json()) as { jobId: string };
    await until("the stage to run", () => existsSync(join(data, "sagemaker", `${jobId}-prep-1`, "opt/ml/processing/output/prepared/started")), 20_000);
    const store = new JobStore(join(data, "spaceport.db"));
    const stagePid = await until("the stage's pid", () => store.getSageMakerJob(`${jobId}-prep-1`)?.pid);
    store.close();

    child.kill("SIGINT");
    const code = await new Promise<number | null>((resolve) => child!.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
    await until("the stage program to stop", () => !alive(stagePid), 10_000);
    const after = new JobStore(join(data, "spaceport.db"));
    try {
      const record = after.getExecution(jobId)!;
      expect(record.status).toBe("FAILED");
      expect(record.cause).toMatch(/the local runtime stopped \(process \d+ was stopped\) while this job was running in stage prep/);
    } finally {
      after.close();
    }
    const emails = readdirSync(join(data, "outbox")).filter((f) => f.endsWith(".eml"));
    expect(emails).toHaveLength(1);
    const eml = readFileSync(join(data, "outbox", emails[0]!), "utf8").replace(/=\r?\n/g, "");
    expect(eml).toContain("To: sigint@example.com");
    expect(eml).toContain("the local runtime stopped");
  }, 120_000);
});
