// Runs the SH palette k-means in the Python helper (PyTorch, all cores / CUDA).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CompressorError } from "./errors.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const HELPER = join(HERE, "..", "sog_tools.py");

/** The Python with torch: $SPACEPORT_PYTHON, the project venv, or python3 on PATH. */
export function pythonExecutable(): string {
  if (process.env.SPACEPORT_PYTHON) return process.env.SPACEPORT_PYTHON;
  const venv = join(process.env.SPACEPORT_CACHE ?? join(homedir(), ".cache", "spaceport"), "venv", "bin", "python");
  return existsSync(venv) ? venv : "python3";
}

export type KmeansResult = {
  /** Per-row palette index (in input row order). */
  labels: Uint32Array;
  /** Palette size actually used (min(k, rows)). */
  paletteSize: number;
  /** 256-entry codebook for the palette values (ascending). */
  codebook: Float32Array;
  /** Palette quantised to codebook indices, paletteSize x dims, row-major. */
  centroidLabels: Uint8Array;
  /** Float palette, paletteSize x dims (for diagnostics). */
  centroids: Float32Array;
  info: KmeansInfo;
};

/** How the palette was fitted: method (faiss / torch), passes run, whether it stopped at convergence. */
export type KmeansInfo = {
  device: string; threads: number; seconds: number; ssePerRow: number;
  method: string; iterations: number; converged: boolean; index: string;
};

export type KmeansOptions = {
  k: number;
  /** Most k-means passes (the faiss path stops earlier at convergence). */
  iterations: number;
  /** Relative objective improvement under which the faiss path stops. */
  tolerance: number;
  sample: number;
  workDir: string;
  onIteration?: (done: number, total: number) => void;
};

/** Runs a command, forwarding stderr lines to onLine; rejects with the tail of stderr. */
export function runProcess(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "", partial = "";
    child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => {
      const text = partial + d.toString();
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      for (const l of lines) { err += l + "\n"; opts.onLine?.(l); }
      if (err.length > 20000) err = err.slice(-10000);
    });
    child.on("error", (e) => reject(e));
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args[0] ?? ""} ${args[1] ?? ""} exited with ${code}: ${(err + partial).trim().split("\n").slice(-5).join(" | ")}`));
    });
  });
}

export async function shKmeans(points: Float32Array, rows: number, dims: number, opts: KmeansOptions): Promise<KmeansResult> {
  await mkdir(opts.workDir, { recursive: true });
  const input = join(opts.workDir, "sh_rest.f32");
  const out = join(opts.workDir, "kmeans");
  await writeFile(input, new Uint8Array(points.buffer, points.byteOffset, rows * dims * 4));
  const args = [HELPER, "kmeans", "--input", input, "--rows", String(rows), "--dims", String(dims),
    "--k", String(opts.k), "--iterations", String(opts.iterations), "--sample", String(opts.sample),
    "--tolerance", String(opts.tolerance), "--out", out];
  try {
    await runProcess(pythonExecutable(), args, {
      onLine: (line) => {
        const m = /^kmeans: iteration (\d+)\/(\d+)/.exec(line);
        if (m) opts.onIteration?.(Number(m[1]), Number(m[2]));
      },
    });
  } catch (e) {
    throw new CompressorError(`The spherical-harmonics clustering (Python/PyTorch helper) failed: ${(e as Error).message}`);
  }
  const buf = async (name: string): Promise<ArrayBuffer> => {
    const b = await readFile(join(out, name));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  const info = JSON.parse(await readFile(join(out, "info.json"), "utf8")) as { centroids: number; device: string; threads: number; seconds: number; sse_per_row: number; method: string; iterations: number; converged: boolean; index: string };
  return {
    labels: new Uint32Array(await buf("labels.u32")),
    paletteSize: info.centroids,
    codebook: new Float32Array(await buf("codebook.f32")),
    centroidLabels: new Uint8Array(await buf("centroid_labels.u8")),
    centroids: new Float32Array(await buf("centroids.f32")),
    info: {
      device: info.device, threads: info.threads, seconds: info.seconds, ssePerRow: info.sse_per_row,
      method: info.method, iterations: info.iterations, converged: info.converged, index: info.index,
    },
  };
}
