// Clean-up before compression: invalid (NaN/Inf), near-transparent and floating Gaussians.
import { CompressorError } from "./errors.js";
import type { Splats } from "./ply.js";

export type CleanOptions = {
  /** Gaussians with sigmoid(opacity) below this are dropped. */
  minOpacity: number;
  /** Drop floaters: centres far outside the scene's robust bounds, or huge blobs. */
  removeFloaters: boolean;
  /** Fail when more than this fraction of Gaussians holds NaN/Inf values. */
  maxInvalidFraction: number;
};

export type CleanReport = {
  before: number;
  after: number;
  removed: { nonFinite: number; transparent: number; floaters: number };
};

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

function quantile(sorted: Float32Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.floor(q * (sorted.length - 1))))]!;
}

export function cleanSplats(splats: Splats, opts: CleanOptions, label = "point_cloud.ply"): { splats: Splats; report: CleanReport } {
  const n = splats.count;
  const cols = [...splats.columns.values()];
  const keep = new Uint8Array(n).fill(1);
  let nonFinite = 0;
  for (let i = 0; i < n; i++) {
    for (const c of cols) {
      if (!Number.isFinite(c[i]!)) { keep[i] = 0; nonFinite++; break; }
    }
  }
  if (nonFinite === n) {
    throw new CompressorError(`${label}: all ${n} Gaussians hold NaN or infinite values; training diverged, so there is nothing to deliver. Re-run training (e.g. with a lower learning rate).`);
  }
  if (nonFinite > opts.maxInvalidFraction * n) {
    throw new CompressorError(`${label}: ${nonFinite} of ${n} Gaussians (${((100 * nonFinite) / n).toFixed(1)}%) hold NaN or infinite values; the model is corrupt (training probably diverged). Re-run training.`);
  }
  const op = splats.columns.get("opacity")!;
  let transparent = 0;
  for (let i = 0; i < n; i++) {
    if (keep[i] && sigmoid(op[i]!) < opts.minOpacity) { keep[i] = 0; transparent++; }
  }
  let floaters = 0;
  if (opts.removeFloaters) {
    const axes = ["x", "y", "z"].map((a) => splats.columns.get(a)!);
    const kept: number[] = [];
    for (let i = 0; i < n; i++) if (keep[i]) kept.push(i);
    if (kept.length >= 100) {
      const lo: number[] = [], hi: number[] = [];
      for (const a of axes) {
        const v = Float32Array.from(kept, (i) => a[i]!).sort();
        const p1 = quantile(v, 0.01), p99 = quantile(v, 0.99);
        const margin = Math.max(p99 - p1, 1e-6);
        lo.push(p1 - margin); hi.push(p99 + margin);
      }
      const extent = Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 3;
      const maxLogScale = Math.log(Math.max(extent, 1e-6) * 0.25);
      const s = ["scale_0", "scale_1", "scale_2"].map((c) => splats.columns.get(c)!);
      for (const i of kept) {
        const outside = axes.some((a, k) => a[i]! < lo[k]! || a[i]! > hi[k]!);
        const huge = Math.max(s[0]![i]!, s[1]![i]!, s[2]![i]!) > maxLogScale;
        if (outside || huge) { keep[i] = 0; floaters++; }
      }
    }
  }
  const after = n - nonFinite - transparent - floaters;
  if (after === 0) {
    throw new CompressorError(`${label}: no Gaussians are left after clean-up (${transparent} were near-transparent, below opacity ${opts.minOpacity}); the trained model is empty.`);
  }
  const columns = new Map<string, Float32Array>();
  for (const [name, c] of splats.columns) {
    const out = new Float32Array(after);
    let j = 0;
    for (let i = 0; i < n; i++) if (keep[i]) out[j++] = c[i]!;
    columns.set(name, out);
  }
  return {
    splats: { count: after, columns, shDegree: splats.shDegree },
    report: { before: n, after, removed: { nonFinite, transparent, floaters } },
  };
}
