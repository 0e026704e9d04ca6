// Shared test helpers: a job sandbox laid out like SageMaker's, and running the entry program.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, "..", "..", "..");

export type Job = { root: string; optMl: string; input: string; delivery: string; tmp: string };

export function makeJob(prefix: string): Job {
  const root = mkdtempSync(join(tmpdir(), `spaceport-${prefix}-`));
  const optMl = join(root, "opt", "ml");
  const input = join(optMl, "processing", "input", "model");
  const tmp = join(root, "tmp");
  mkdirSync(input, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  return { root, optMl, input, delivery: join(optMl, "processing", "output", "delivery"), tmp };
}

/** Runs images/compressor/entrypoint.sh's program for a job; its work folder (COMPRESS_TMPDIR) is inside the sandbox. */
export function runCompressor(job: Job, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "images", "compressor", "src", "main.ts")], {
      cwd: ROOT,
      env: { ...process.env, SPACEPORT_OPT_ML: job.optMl, COMPRESS_TMPDIR: job.tmp, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Every file under dir, relative, with its size. */
export function listFiles(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = statSync(p).size;
    }
  };
  walk(dir);
  return out;
}

export const readText = (p: string): string => readFileSync(p, "utf8");
