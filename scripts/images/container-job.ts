/**
 * One whole job in the stage images (`spaceport run --docker`, preview quality, the generated
 * survey) beside the same job run natively, asserting what the native end-to-end test asserts:
 * every photo placed close to the truth, held-out PSNR above the floor, SOG >= 10x smaller than
 * the PLY, a viewer that renders in headless Chromium; then that both runs agree (same photos
 * placed, PSNR within 0.5 dB). Last, a stage that fails in its container (a ZIP without photos)
 * must end the job with the reason its failure file holds. Prints the figures; exit 1 on a miss.
 *   node --import tsx scripts/images/container-job.ts
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as tar from "tar";
import { captureViewer } from "../../images/compressor/src/browser.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PYTHON = process.env["SPACEPORT_PYTHON"] ?? "python3";
// the native end-to-end test's thresholds (tests/e2e/e2e.test.ts)
const PSNR_FLOOR_DB = 18;
const SURVEY_POSITION_RMSE = 0.01;
const SOG_RATIO_MIN = 10;
const PSNR_AGREEMENT_DB = 0.5;
const JOB_TIMEOUT_MS = 40 * 60_000;

interface JobRun {
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
  readonly jobId: string | undefined;
  readonly dataDir: string;
}

interface Figures {
  readonly placed: number;
  readonly total: number;
  readonly rmseRelative: number;
  readonly psnr: number;
  readonly sogRatio: number;
  readonly viewerVariance: number;
  readonly viewerColors: number;
  readonly consoleErrors: readonly string[];
}

const failures: string[] = [];
function check(ok: boolean, what: string): void {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
}

function python(args: string[]): string {
  const result = spawnSync(PYTHON, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, PYTHONPATH: ROOT } });
  if (result.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** `spaceport run ZIP --quality preview --no-serve` in its own data folder. */
function spaceportRun(zip: string, dataDir: string, docker: boolean): Promise<JobRun> {
  const args = ["--import", "tsx", "pipeline/local/cli.ts", "run", zip, "--quality", "preview", "--data-dir", dataDir, "--port", "0", "--no-serve", ...(docker ? ["--docker"] : [])];
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, SPACEPORT_SMTP_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: string[] = [];
    const keep = (chunk: Buffer) => {
      chunks.push(chunk.toString());
      process.stdout.write(chunk);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGTERM"), JOB_TIMEOUT_MS);
    child.once("close", (code) => {
      clearTimeout(timer);
      const output = chunks.join("");
      done({ code, output, seconds: (Date.now() - started) / 1000, jobId: /^job ([0-9a-z]+):/m.exec(output)?.[1], dataDir });
    });
  });
}

function jobFolder(run: JobRun): string {
  const buckets = join(run.dataDir, "buckets");
  const bucket = readdirSync(buckets).find((b) => existsSync(join(buckets, b, "jobs", run.jobId!)));
  if (!bucket) throw new Error(`no job folder for ${run.jobId} under ${buckets}`);
  return join(buckets, bucket, "jobs", run.jobId!);
}

function modelFigures(folder: string): { ply: number; psnr: number } {
  const archive = readdirSync(join(folder, "model"), { recursive: true }).map(String).find((f) => f.endsWith("model.tar.gz"));
  if (!archive) throw new Error(`no model.tar.gz under ${folder}/model`);
  const out = mkdtempSync(join(tmpdir(), "container-job-model-"));
  try {
    tar.x({ file: join(folder, "model", archive), cwd: out, sync: true });
    const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { psnr?: number };
    return { ply: statSync(join(out, "point_cloud.ply")).size, psnr: Number(metrics.psnr) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function figuresOf(run: JobRun, truth: string): Promise<Figures> {
  const folder = jobFolder(run);
  const sfm = JSON.parse(python(["tests/e2e/evaluate_sfm.py", "--sfm", join(folder, "sfm"), "--truth", truth])) as { placed: number; total: number; rmse_relative: number };
  const model = modelFigures(folder);
  const sog = statSync(join(folder, "delivery", "scene.sog")).size;
  const capture = await captureViewer(join(folder, "delivery"), { timeoutMs: 120_000 });
  return {
    placed: sfm.placed,
    total: sfm.total,
    rmseRelative: sfm.rmse_relative,
    psnr: model.psnr,
    sogRatio: model.ply / sog,
    viewerVariance: capture.stats.variance,
    viewerColors: capture.stats.distinctColors,
    consoleErrors: capture.consoleErrors,
  };
}

function assertDelivered(label: string, run: JobRun, f: Figures): void {
  check(run.code === 0 && run.jobId !== undefined, `${label}: job succeeded (exit code ${run.code})`);
  check(f.placed === f.total, `${label}: every photo placed (${f.placed}/${f.total})`);
  check(f.rmseRelative < SURVEY_POSITION_RMSE, `${label}: camera centres within ${SURVEY_POSITION_RMSE * 100}% of the scene (RMSE ${(f.rmseRelative * 100).toFixed(3)}%)`);
  check(f.psnr > PSNR_FLOOR_DB, `${label}: held-out PSNR ${f.psnr.toFixed(2)} dB > ${PSNR_FLOOR_DB} dB`);
  check(f.sogRatio >= SOG_RATIO_MIN, `${label}: SOG ${f.sogRatio.toFixed(1)}x smaller than the PLY (>= ${SOG_RATIO_MIN}x)`);
  check(f.consoleErrors.length === 0 && f.viewerVariance > 200 && f.viewerColors > 100, `${label}: viewer renders in Chromium (variance ${f.viewerVariance.toFixed(0)}, ${f.viewerColors} colours, ${f.consoleErrors.length} console errors)`);
}

/** The failed SageMaker job's failure file, read from its job folder. */
function failureFile(run: JobRun): string | undefined {
  const sagemaker = join(run.dataDir, "sagemaker");
  if (!run.jobId || !existsSync(sagemaker)) return undefined;
  for (const job of readdirSync(sagemaker).filter((j) => j.startsWith(run.jobId!))) {
    const file = join(sagemaker, job, "opt", "ml", "output", "failure");
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
  }
  return undefined;
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "spaceport-container-job-"));
  try {
    python(["-m", "samples.survey", "--out", join(work, "survey"), "--count", "24", "--width", "640", "--height", "480"]);
    python(["-m", "samples.inputs", "no-images", "--out", join(work, "no-images.zip")]);
    const zip = join(work, "survey", "survey.zip");
    const truth = join(work, "survey", "truth.json");

    console.log("\n== native: spaceport run (preview)");
    const native = await spaceportRun(zip, join(work, "native"), false);
    console.log("\n== containers: spaceport run --docker (preview)");
    const docker = await spaceportRun(zip, join(work, "docker"), true);
    const n = await figuresOf(native, truth);
    const d = await figuresOf(docker, truth);

    console.log("\n== checks");
    assertDelivered("native", native, n);
    assertDelivered("docker", docker, d);
    check(n.placed === d.placed && n.total === d.total, `native and docker place the same photos (${n.placed}/${n.total} and ${d.placed}/${d.total})`);
    check(Math.abs(n.psnr - d.psnr) <= PSNR_AGREEMENT_DB, `native and docker PSNR within ${PSNR_AGREEMENT_DB} dB (${n.psnr.toFixed(2)} and ${d.psnr.toFixed(2)} dB)`);

    console.log("\n== containers: a stage that fails (a ZIP without photos)");
    const failing = await spaceportRun(join(work, "no-images.zip"), join(work, "docker"), true);
    const written = failureFile(failing);
    const reported = /failed in stage (\S+): (.+)$/m.exec(failing.output);
    check(failing.code === 1, `failing job exits 1 (exit code ${failing.code})`);
    check(reported?.[1] === "sfm", `failing job names stage sfm (${reported?.[1] ?? "no stage"})`);
    check(written !== undefined && reported !== null && reported[2]!.includes(written.replace(/\.$/, "")), `the job's reason is the failure file's: "${written ?? "(no failure file)"}"`);

    console.log("\n== figures: native | docker");
    console.log(`job time:         ${native.seconds.toFixed(0)} s | ${docker.seconds.toFixed(0)} s (${(docker.seconds / native.seconds).toFixed(2)}x)`);
    console.log(`photos placed:    ${n.placed}/${n.total} | ${d.placed}/${d.total}`);
    console.log(`held-out PSNR:    ${n.psnr.toFixed(2)} dB | ${d.psnr.toFixed(2)} dB (difference ${(d.psnr - n.psnr).toFixed(2)} dB)`);
    console.log(`PLY/SOG:          ${n.sogRatio.toFixed(1)}x | ${d.sogRatio.toFixed(1)}x`);
    console.log(`failing stage:    ${failing.seconds.toFixed(0)} s, reason: ${written ?? "(none)"}`);
    if (failures.length > 0) {
      console.error(`\n${failures.length} check(s) failed:\n  ${failures.join("\n  ")}`);
      return 1;
    }
    console.log("\nall container job checks passed");
    return 0;
  } finally {
    if (!process.env["SPACEPORT_KEEP_CONTAINER_JOB"]) rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
