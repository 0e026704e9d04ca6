// Fidelity of the delivery: (1) per-attribute errors of the SOG read back with splat-transform
// against the cleaned input; (2) PSNR of renders of the decoded SOG against renders of the
// cleaned uncompressed PLY from the held-out cameras, with the trainer's CPU rasterizer
// (python -m gs_trainer.render), when that renderer and cameras.json are present.
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pythonExecutable, runProcess, HELPER } from "./kmeans.js";
import { encodePly, type Splats } from "./ply.js";

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export type AttributeErrors = {
  positionMaxOverExtent: number;
  positionRmse: number;
  colorDcRmse: number;
  opacityMaxAbs: number;
  scaleLogRmse: number;
  rotationMaxAngleDeg: number;
  shRestRmse: number | null;
  shRestStd: number | null;
};

/** Errors of `decoded` (texel order) against `original` (input order), order[i] = input row of texel i. */
export function attributeErrors(original: Splats, decoded: Splats, order: Uint32Array): AttributeErrors {
  const o = (c: string): Float32Array => original.columns.get(c)!;
  const d = (c: string): Float32Array => decoded.columns.get(c)!;
  const n = decoded.count;
  let posSq = 0, posMax = 0, dcSq = 0, opMax = 0, scSq = 0, rotMax = 0;
  const ext = ["x", "y", "z"].map((c) => { let lo = Infinity, hi = -Infinity; for (const v of o(c)) { lo = Math.min(lo, v); hi = Math.max(hi, v); } return hi - lo; });
  const extent = Math.max(...ext, 1e-9);
  for (let i = 0; i < n; i++) {
    const j = order[i]!;
    let e2 = 0;
    for (const c of ["x", "y", "z"]) { const e = d(c)[i]! - o(c)[j]!; e2 += e * e; }
    posSq += e2; posMax = Math.max(posMax, Math.sqrt(e2));
    for (const c of ["f_dc_0", "f_dc_1", "f_dc_2"]) { const e = d(c)[i]! - o(c)[j]!; dcSq += e * e; }
    opMax = Math.max(opMax, Math.abs(sigmoid(d("opacity")[i]!) - sigmoid(o("opacity")[j]!)));
    for (const c of ["scale_0", "scale_1", "scale_2"]) { const e = d(c)[i]! - o(c)[j]!; scSq += e * e; }
    const qa = [0, 1, 2, 3].map((k) => o(`rot_${k}`)[j]!), qb = [0, 1, 2, 3].map((k) => d(`rot_${k}`)[i]!);
    const la = Math.hypot(...qa), lb = Math.hypot(...qb);
    const dot = Math.min(1, Math.abs(qa.reduce((s, v, k) => s + v * qb[k]!, 0)) / (la * lb));
    rotMax = Math.max(rotMax, (2 * Math.acos(dot) * 180) / Math.PI);
  }
  let shSq = 0, shCount = 0, shSum = 0, shSum2 = 0;
  const rest = [...original.columns.keys()].filter((c) => c.startsWith("f_rest_"));
  const hasSh = rest.length > 0 && rest.every((c) => decoded.columns.has(c));
  if (hasSh) {
    for (const c of rest) {
      const a = o(c), b = d(c);
      for (let i = 0; i < n; i++) { const v = a[order[i]!]!; const e = b[i]! - v; shSq += e * e; shSum += v; shSum2 += v * v; shCount++; }
    }
  }
  const shMean = shCount ? shSum / shCount : 0;
  return {
    positionMaxOverExtent: posMax / extent,
    positionRmse: Math.sqrt(posSq / n),
    colorDcRmse: Math.sqrt(dcSq / (3 * n)),
    opacityMaxAbs: opMax,
    scaleLogRmse: Math.sqrt(scSq / (3 * n)),
    rotationMaxAngleDeg: rotMax,
    shRestRmse: hasSh ? Math.sqrt(shSq / shCount) : null,
    shRestStd: hasSh ? Math.sqrt(Math.max(0, shSum2 / shCount - shMean * shMean)) : null,
  };
}

const HERE = dirname(fileURLToPath(import.meta.url));
const TRAINER = join(HERE, "..", "..", "gaussian-splatting");
const SHARED = join(HERE, "..", "..", "shared");

export type RenderFidelity = { available: true; heldOutViews: number; meanPsnr: number | null; perImage: Record<string, number | null> }
  | { available: false; reason: string };

/** PSNR of renders of `decoded` vs renders of `reference` (both ENU) from held-out cameras. */
export async function renderFidelity(reference: Splats, decoded: Splats, cameras: string | null, workDir: string, maxSize: number, views: string[] = []): Promise<RenderFidelity> {
  if (!cameras) return { available: false, reason: "no cameras.json in the training output" };
  const missing = rendererMissing();
  if (missing) return { available: false, reason: missing };
  const dir = join(workDir, "fidelity");
  try {
    await renderViews(reference, cameras, join(dir, "ref"), maxSize, views);
    await renderViews(decoded, cameras, join(dir, "sog"), maxSize, views);
    return await psnrBetween(join(dir, "ref"), join(dir, "sog"));
  } catch (e) {
    return { available: false, reason: `rendering failed: ${(e as Error).message.slice(0, 300)}` };
  }
}

/** Why the trainer's renderer cannot run here, or null when it can. */
export function rendererMissing(): string | null {
  const trainerPath = process.env.COMPRESS_TRAINER_PATH ?? TRAINER;
  return existsSync(join(trainerPath, "gs_trainer", "render.py")) ? null : `the trainer's renderer (gs_trainer.render) is not installed under ${trainerPath}`;
}

/** Renders `splats` (ENU) from the held-out cameras of `cameras` (or the named ones) into `out`. */
export async function renderViews(splats: Splats, cameras: string, out: string, maxSize: number, views: string[] = []): Promise<void> {
  const trainerPath = process.env.COMPRESS_TRAINER_PATH ?? TRAINER;
  await mkdir(out, { recursive: true });
  const ply = `${out}.ply`;
  await writeFile(ply, encodePly(splats.columns));
  // gs_trainer imports the stage contract every Python stage shares (images/shared).
  const env = { PYTHONPATH: [trainerPath, SHARED, process.env.PYTHONPATH].filter(Boolean).join(":") };
  const names = views.length > 0 ? ["--names", views.join(",")] : [];
  await runProcess(pythonExecutable(), ["-m", "gs_trainer.render", "--ply", ply, "--cameras", cameras, "--out", out, "--held-out-only", "--max-size", String(maxSize), ...names], { env });
  await rm(ply, { force: true });
}

/** Mean PSNR of the renders in `test` against those of the same name in `reference`. */
export async function psnrBetween(reference: string, test: string): Promise<RenderFidelity> {
  const out = await runProcess(pythonExecutable(), [HELPER, "psnr", "--reference", reference, "--test", test]);
  const r = JSON.parse(out) as { images: number; mean_psnr: number | null; per_image: Record<string, number | null> };
  if (r.images === 0) return { available: false, reason: "the renderer produced no held-out views" };
  return { available: true, heldOutViews: r.images, meanPsnr: r.mean_psnr, perImage: r.per_image };
}
