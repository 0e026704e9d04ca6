/**
 * The held-out quality of a model in words: how sharp its renders are against the photos that
 * training never saw (mean PSNR over the held-out views, the trainer's metrics.json). The one
 * place the thresholds live: the compressor's viewer page, the delivery report, job status,
 * the email and the run summary all grade with it. "blurry" starts where the trainer's own
 * default quality gate warns (psnr_floor, 20 dB); 25 dB and up reads as sharp on drone scenes.
 *
 * Only plain TypeScript on purpose: the compressor image copies this file alone.
 */
export const SHARP_FROM_DB = 25;
export const BLURRY_BELOW_DB = 20;

export type QualityGrade = "sharp" | "fair" | "blurry";

export interface HeldOutQuality {
  readonly grade: QualityGrade;
  readonly psnrDb: number;
  readonly ssim?: number;
  /** e.g. "sharp (27.4 dB PSNR on 9 held-out photos)". */
  readonly words: string;
}

export function gradeOf(psnrDb: number): QualityGrade {
  if (psnrDb >= SHARP_FROM_DB) return "sharp";
  return psnrDb >= BLURRY_BELOW_DB ? "fair" : "blurry";
}

/** The grade and its sentence for a held-out PSNR (null when the figure is missing or not finite). */
export function heldOutQuality(psnrDb: unknown, ssim?: unknown, views?: unknown): HeldOutQuality | null {
  if (typeof psnrDb !== "number" || !Number.isFinite(psnrDb)) return null;
  const grade = gradeOf(psnrDb);
  const on = typeof views === "number" && views > 0 ? `on ${views} held-out photo${views === 1 ? "" : "s"}` : "on held-out photos";
  const s = typeof ssim === "number" && Number.isFinite(ssim) ? ssim : undefined;
  return { grade, psnrDb, ...(s !== undefined ? { ssim: s } : {}), words: `${grade} (${psnrDb.toFixed(1)} dB PSNR ${on})` };
}
