/**
 * The checks of scripts/images/container-job.ts on one `spaceport run`: what the native
 * end-to-end test asserts (tests/e2e/e2e.test.ts, same thresholds) and the failure file a failed
 * stage leaves in its job folder.
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
export const PSNR_FLOOR_DB = 18;
export const SURVEY_POSITION_RMSE = 0.01;
export const SOG_RATIO_MIN = 10;
export const PSNR_AGREEMENT_DB = 0.5;
// a bound, not a target: a shared 2-core machine took 40 min for one preview job
const JOB_TIMEOUT_MS = 90 * 60_000;

export interface JobRun {
  readonly code: number | null;
  readonly output: string;
  readonly seconds: number;
  readonly jobId: string | undefined;
  readonly dataDir: string;
}

export interface Figures {
  readonly placed: number;
  readonly total: number;
  readonly rmseRelative: number;
  readonly psnr: number;
  readonly sogRatio: number;
  readonly viewerVariance: number;
  readonly viewerColors: number;
  readonly consoleErrors: readonly string[];
}

export const failures: string[] = [];
export function check(ok: boolean, what: string): void {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures.push(what);
}

export function python(args: string[]): string {
  const result = spawnSync(PYTHON, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, PYTHONPATH: ROOT } });
  if (result.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** `spaceport run ZIP --quality preview --no-serve` in its own data folder. */
export function spaceportRun(zip: string, dataDir: string, docker: boolean): Promise<JobRun> {
  const args = ["--import", "tsx", "stages/cli.ts", "run", zip, "--quality", "preview", "--data-dir", dataDir, "--port", "0", "--no-serve", ...(docker ? ["--docker"] : [])];
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
      done({ code, output, seconds: (Date.now() - started) / 1000, jobId: /^job ([0-9a-z-]+):/m.exec(output)?.[1], dataDir });
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

export async function figuresOf(run: JobRun, truth: string): Promise<Figures> {
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

export function assertDelivered(label: string, run: JobRun, f: Figures): void {
  check(run.code === 0 && run.jobId !== undefined, `${label}: job succeeded (exit code ${run.code})`);
  check(f.placed === f.total, `${label}: every photo placed (${f.placed}/${f.total})`);
  check(f.rmseRelative < SURVEY_POSITION_RMSE, `${label}: camera centres within ${SURVEY_POSITION_RMSE * 100}% of the scene (RMSE ${(f.rmseRelative * 100).toFixed(3)}%)`);
  check(f.psnr > PSNR_FLOOR_DB, `${label}: held-out PSNR ${f.psnr.toFixed(2)} dB > ${PSNR_FLOOR_DB} dB`);
  check(f.sogRatio >= SOG_RATIO_MIN, `${label}: SOG ${f.sogRatio.toFixed(1)}x smaller than the PLY (>= ${SOG_RATIO_MIN}x)`);
  check(f.consoleErrors.length === 0 && f.viewerVariance > 200 && f.viewerColors > 100, `${label}: viewer renders in Chromium (variance ${f.viewerVariance.toFixed(0)}, ${f.viewerColors} colours, ${f.consoleErrors.length} console errors)`);
}

/** The failed SageMaker job's failure file, read from its job folder. */
export function failureFile(run: JobRun): string | undefined {
  const sagemaker = join(run.dataDir, "sagemaker");
  if (!run.jobId || !existsSync(sagemaker)) return undefined;
  for (const job of readdirSync(sagemaker).filter((j) => j.startsWith(run.jobId!))) {
    const file = join(sagemaker, job, "opt", "ml", "output", "failure");
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
  }
  return undefined;
}
