/**
 * `npm run bench:concurrency`: jobs side by side on one machine.
 *
 *   npm run bench:concurrency -- [--jobs 2] [--quality preview] [--unshared]
 *
 * Runs the demo's job (the generated survey) alone, then `--jobs` copies of it submitted
 * together, through the local runtime's HTTP API, and prints each wall time and the ratio
 * against the single job. On N cores the ideal ratio for N jobs is about N (the work adds up);
 * far above it means stage processes fight over cores. `--unshared` adds the same jobs with
 * every stage given its instance's vCPUs whatever else runs (the runtime's behaviour before
 * stages shared the machine's cores), as the baseline in the same run.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { handlers } from "../functions/handlers.js";
import { formatTable } from "../pipeline/format.js";
import { startLocalServices } from "../pipeline/local/services.js";
import { spaceport } from "./spaceport.js";

const ROOT = resolve(import.meta.dirname, "..");

interface Run {
  readonly label: string;
  readonly wallSeconds: number;
  readonly jobSeconds: number[];
}

async function runJobs(label: string, zip: string, work: string, count: number, quality: string, cores?: "unshared"): Promise<Run> {
  const services = await startLocalServices({
    dataDir: join(work, `data-${label.replace(/\W+/g, "-")}`),
    port: 0,
    environment: "prod",
    pipeline: spaceport,
    handlers,
    env: {},
    ...(cores !== undefined ? { cores } : {}),
  });
  // Ctrl-C or SIGTERM stops the stage processes too (they run in process groups of their own).
  const stop = () => void services.close().finally(() => process.exit(130));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const headers = { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" };
  const started = Date.now();
  try {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      // Each upload is its own input key, so each submission is a job of its own.
      const response = await fetch(`${services.baseUrl}/jobs`, {
        method: "POST",
        headers,
        body: JSON.stringify({ input: services.upload(zip), email: `bench-${i}@example.com`, options: { quality } }),
      });
      if (response.status !== 202) throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`);
      ids.push(((await response.json()) as { jobId: string }).jobId);
    }
    console.log(`${label}: ${count} job(s) submitted`);
    const jobSeconds = await Promise.all(
      ids.map(async (id) => {
        const record = await services.runtime.executions.wait(id);
        if (record?.status !== "SUCCEEDED") throw new Error(`job ${id} ended ${record?.status ?? "unknown"}`);
        const seconds = (Date.now() - started) / 1000;
        console.log(`  job ${id}: ${seconds.toFixed(0)} s`);
        return seconds;
      }),
    );
    return { label, wallSeconds: (Date.now() - started) / 1000, jobSeconds };
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await services.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string", default: "2" },
      quality: { type: "string", default: "preview" },
      unshared: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log("usage: npm run bench:concurrency -- [--jobs 2] [--quality preview] [--unshared]");
    return;
  }
  const count = Number(values.jobs);
  if (!Number.isInteger(count) || count < 2) throw new Error(`--jobs must be a whole number of at least 2, got ${values.jobs}`);
  const work = mkdtempSync(join(tmpdir(), "spaceport-bench-concurrency-"));
  try {
    const python = process.env["SPACEPORT_PYTHON"] ?? "python3";
    const made = spawnSync(python, ["-m", "samples.survey", "--out", join(work, "survey")], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    if (made.status !== 0) throw new Error("could not generate the sample survey (see above)");
    const zip = join(work, "survey", "survey.zip");
    const cores = availableParallelism();
    console.log(`${cores} cores; the demo's survey at quality ${values.quality}`);

    const runs: Run[] = [await runJobs("one job", zip, work, 1, values.quality!)];
    runs.push(await runJobs(`${count} jobs, cores shared`, zip, work, count, values.quality!));
    // Every stage sizes its threads from the whole machine, however many run at once.
    if (values.unshared) runs.push(await runJobs(`${count} jobs, unshared`, zip, work, count, values.quality!, "unshared"));

    const single = runs[0]!.wallSeconds;
    const rows = [["run", "wall time", "slowest job / one job"]];
    for (const run of runs) rows.push([run.label, `${run.wallSeconds.toFixed(0)} s`, `${(Math.max(...run.jobSeconds) / single).toFixed(2)}x`]);
    console.log(`\n${formatTable(rows)}\n(${count} jobs that each keep the cores busy take about ${count}x one job; far more means they fight over cores)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
