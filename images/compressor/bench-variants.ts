// The compression benchmark's measurements: one SOG encode per k-means variant (new faiss path,
// the exact PyTorch one, splat-transform's own writer) with its seconds and its fidelity as the
// PSNR of renders of the decoded SOG against renders of the uncompressed scene (the trainer's
// CPU rasterizer, held-out synthetic cameras); timing probes for what is too slow to run here.
import { Column, DataTable, MemoryFileSystem, writeSog } from "@playcanvas/splat-transform";
import { writeFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { attributeErrors, psnrBetween, renderViews } from "./src/fidelity.js";
import { HELPER, pythonExecutable, runProcess, shKmeans } from "./src/kmeans.js";
import type { Splats } from "./src/ply.js";
import { encodeSog, readSogEnu } from "./src/sog.js";
import { syntheticCameras } from "./src/synthetic.js";

export const RENDER_SIZE = 160;
const secs = (t: number): number => Math.round((performance.now() - t) / 10) / 100;
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;

export type Scene = { name: string; splats: Splats; table: DataTable; dir: string; cameras: string; refDir: string };

/** Writes the scene's synthetic cameras and renders the uncompressed scene once (the reference). */
export async function prepareScene(name: string, splats: Splats, table: DataTable, work: string): Promise<Scene> {
  const dir = join(work, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const cameras = join(dir, "cameras.json");
  writeFileSync(cameras, JSON.stringify(syntheticCameras(6, 30, RENDER_SIZE, (RENDER_SIZE * 3) / 4)));
  const refDir = join(dir, "reference");
  await renderViews(splats, cameras, refDir, RENDER_SIZE);
  return { name, splats, table, dir, cameras, refDir };
}

export type VariantRow = {
  scene: string; gaussians: number; variant: string; palette: number; iterations: number | string;
  converged: boolean | null; kmeansS: number; sogS: number; sogBytes: number; shRmse: number | null;
  renderPsnrDb: number | null; note: string;
};

/** Render PSNR of a decoded SOG against the scene's reference renders. */
async function renderPsnr(scene: Scene, decoded: Splats, label: string): Promise<number | null> {
  const out = join(scene.dir, label);
  await renderViews(decoded, scene.cameras, out, RENDER_SIZE);
  const r = await psnrBetween(scene.refDir, out);
  return r.available ? r.meanPsnr : null;
}

/** Our SOG path with the given k-means method (faiss / torch) and thread count. */
export async function ourVariant(scene: Scene, method: "faiss" | "torch", opts: { iterations: number; tolerance: number; palette?: number; threads?: number }): Promise<VariantRow> {
  process.env.COMPRESS_KMEANS = method;
  if (opts.threads) process.env.COMPRESS_THREADS = String(opts.threads); else delete process.env.COMPRESS_THREADS;
  const t = performance.now();
  const sog = await encodeSog(scene.table, { iterations: opts.iterations, tolerance: opts.tolerance, sample: 262144, paletteMax: 65536, palette: opts.palette, workDir: join(scene.dir, `km-${method}`) });
  const sogS = secs(t);
  const decoded = await readSogEnu(sog.bytes);
  const errors = attributeErrors(scene.splats, decoded, sog.order);
  const label = method === "faiss" ? "new (faiss)" : "current (torch exact)";
  return {
    scene: scene.name, gaussians: scene.splats.count, variant: label, palette: sog.sh?.paletteSize ?? 0,
    iterations: sog.sh?.iterations ?? 0, converged: sog.sh?.converged ?? null, kmeansS: sog.sh?.kmeansSeconds ?? 0, sogS,
    sogBytes: sog.bytes.byteLength, shRmse: errors.shRestRmse === null ? null : round(errors.shRestRmse, 4),
    renderPsnrDb: await renderPsnr(scene, decoded, `render-${method}`), note: `${sog.sh?.index ?? ""}, ${sog.sh?.threads ?? "?"} threads`,
  };
}

/** splat-transform 3.7's own SOG writer (its CPU k-means), its palette rule and iteration count. */
export async function splatTransformVariant(scene: Scene, iterations: number): Promise<VariantRow & { pairsPerSecond: number }> {
  const copy = (keepSh: boolean): DataTable => new DataTable(scene.table.columns.filter((c: Column) => keepSh || !c.name.startsWith("f_rest_")).map((c: Column) => c.clone()), scene.table.transform);
  let t = performance.now();
  await writeSog({ filename: "/b/meta.json", dataTable: copy(false), bundle: false, iterations, logging: "silent" }, new MemoryFileSystem());
  const noSh = secs(t);
  const mem = new MemoryFileSystem();
  t = performance.now();
  await writeSog({ filename: "/b/scene.sog", dataTable: copy(true), bundle: true, iterations, logging: "silent" }, mem);
  const withSh = secs(t);
  const bytes = [...mem.results.values()][0]!;
  const decoded = await readSogEnu(bytes);
  const n = scene.splats.count;
  const palette = Math.min(64, 2 ** Math.floor(Math.log2(n / 1024))) * 1024;
  const kmeansS = Math.max(0.01, round(withSh - noSh));
  return {
    scene: scene.name, gaussians: n, variant: "splat-transform 3.7 (CPU)", palette, iterations, converged: null,
    kmeansS, sogS: withSh, sogBytes: bytes.byteLength, shRmse: null,
    renderPsnrDb: await renderPsnr(scene, decoded, "render-splat-transform"),
    note: "k-means s = writeSog with SH minus without", pairsPerSecond: (n * palette * iterations) / kmeansS,
  };
}

/** The exact PyTorch assignment rate (GFLOP/s) on `probe` rows of the scene against `k` centroids. */
export async function torchAssignRate(scene: Scene, k: number, probe: number): Promise<{ gflops: number; seconds: number; rows: number }> {
  const restNames = scene.table.columnNames.filter((c: string) => c.startsWith("f_rest_"));
  const n = scene.table.numRows, dims = restNames.length;
  const pts = new Float32Array(n * dims);
  restNames.forEach((c: string, j: number) => { const col = scene.table.getColumnByName(c)!.data; for (let i = 0; i < n; i++) pts[i * dims + j] = col[i]!; });
  const file = join(scene.dir, "sh_rest.f32");
  await writeFile(file, new Uint8Array(pts.buffer));
  delete process.env.COMPRESS_THREADS;
  const out = await runProcess(pythonExecutable(), [HELPER, "time-assign", "--input", file, "--rows", String(n), "--dims", String(dims), "--k", String(k), "--probe", String(probe)]);
  const r = JSON.parse(out) as { gflops: number; seconds: number; rows: number };
  return r;
}

/** Seconds per k-means pass of the faiss path on the scene's SH rows with 1 and with 2 threads
 *  (run 1, 2, 2, 1 and the faster of each pair kept: the other jobs' load comes and goes). */
export async function threadScaling(scene: Scene, rows: number, k: number, tolerance: number): Promise<{ rows: number; perPass: Record<number, number>; speedup2: number; parallelFraction: number }> {
  const restNames = scene.table.columnNames.filter((c: string) => c.startsWith("f_rest_"));
  const m = Math.min(rows, scene.table.numRows), dims = restNames.length;
  const pts = new Float32Array(m * dims);
  restNames.forEach((c: string, j: number) => { const col = scene.table.getColumnByName(c)!.data; for (let i = 0; i < m; i++) pts[i * dims + j] = col[i]!; });
  process.env.COMPRESS_KMEANS = "faiss";
  const perPass: Record<number, number> = {};
  for (const threads of [1, 2, 2, 1]) {
    process.env.COMPRESS_THREADS = String(threads);
    const r = await shKmeans(pts, m, dims, { k, iterations: 3, tolerance: 0, sample: 262144, workDir: join(scene.dir, `scaling-${threads}`) });
    perPass[threads] = Math.min(perPass[threads] ?? Infinity, r.info.seconds / r.info.iterations);
  }
  delete process.env.COMPRESS_THREADS;
  const speedup2 = perPass[1]! / perPass[2]!;
  // Amdahl with 2 workers: S = 1 / ((1 - p) + p / 2)  =>  p = 2 (1 - 1 / S), clamped to [0, 1]
  const parallelFraction = Math.min(1, Math.max(0, 2 * (1 - 1 / speedup2)));
  return { rows: m, perPass, speedup2: round(speedup2), parallelFraction: round(parallelFraction, 3) };
}

/** Amdahl projection of a time measured with `threads` workers to `cores` workers. */
export function projectSeconds(seconds: number, threads: number, p: number, cores: number): number {
  const t1 = seconds / ((1 - p) + p / threads);
  return round(t1 * ((1 - p) + p / cores), 1);
}
