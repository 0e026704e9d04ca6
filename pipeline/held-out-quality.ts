/**
 * The held-out quality of a model in words: how sharp its renders are against the photos that
 * training never saw (mean PSNR over the held-out views, the trainer's metrics.json, and its
 * `equivalent_blur`: the blur, as a share of the width, at which the photos differ from
 * themselves as much as the renders do). The one place the thresholds live: the compressor's
 * viewer page, the delivery report, job status, the email and the run summary all grade with it.
 * "blurry" starts where the trainer's own default quality gate warns (psnr_floor 20 dB,
 * blur_floor 5%); 25 dB and up reads as sharp on drone scenes unless the blur says otherwise:
 * on a low-contrast site a smooth model with the house missing scores 27 dB but 14% blur.
 * `share` writes a blur of 0.25 or more as the trainer does: its equivalent_blur stops there (metrics.BLUR_CAP).
 *
 * Only plain TypeScript on purpose: the compressor image copies this file alone.
 */
export const SHARP_FROM_DB = 25;
export const BLURRY_BELOW_DB = 20;
/** Equivalent blur (share of the width) above which a model is blurry, and at or below which it can be sharp. */
export const BLURRY_ABOVE_BLUR = 0.05;
export const SHARP_UP_TO_BLUR = 0.025;

export type QualityGrade = "sharp" | "fair" | "blurry";

export interface HeldOutQuality {
  readonly grade: QualityGrade;
  readonly psnrDb: number;
  readonly ssim?: number;
  /** The trainer's equivalent blur, a share of the width (when it reported one). */
  readonly blur?: number;
  /** e.g. "sharp (27.4 dB PSNR on 9 held-out photos)". */
  readonly words: string;
}

const RANK: Record<QualityGrade, number> = { sharp: 0, fair: 1, blurry: 2 };

/** The grade of a held-out PSNR and, when given, equivalent blur: the worse of the two. */
export function gradeOf(psnrDb: number, blur?: number): QualityGrade {
  const byPsnr: QualityGrade = psnrDb >= SHARP_FROM_DB ? "sharp" : psnrDb >= BLURRY_BELOW_DB ? "fair" : "blurry";
  if (blur === undefined) return byPsnr;
  const byBlur: QualityGrade = blur > BLURRY_ABOVE_BLUR ? "blurry" : blur > SHARP_UP_TO_BLUR ? "fair" : "sharp";
  return RANK[byBlur] > RANK[byPsnr] ? byBlur : byPsnr;
}

/** Two significant digits, as the trainer's warning writes it (quality.py). */
const share = (x: number): string => (x >= 0.25 ? "a quarter or more" : `${Number((100 * x).toPrecision(2))}%`);

/** The grade and its sentence for a held-out PSNR and equivalent blur (null when the PSNR is
 *  missing or not finite; a missing or malformed blur grades by PSNR alone). The blur is named
 *  only where it lowers the grade. */
export function heldOutQuality(psnrDb: unknown, ssim?: unknown, views?: unknown, blur?: unknown): HeldOutQuality | null {
  if (typeof psnrDb !== "number" || !Number.isFinite(psnrDb)) return null;
  const b = typeof blur === "number" && Number.isFinite(blur) && blur >= 0 ? blur : undefined;
  const grade = gradeOf(psnrDb, b);
  const on = typeof views === "number" && views > 0 ? `on ${views} held-out photo${views === 1 ? "" : "s"}` : "on held-out photos";
  const s = typeof ssim === "number" && Number.isFinite(ssim) ? ssim : undefined;
  const why = b !== undefined && grade !== gradeOf(psnrDb) ? `, but matched only by the photos blurred over ${share(b)} of their width` : "";
  return {
    grade, psnrDb, ...(s !== undefined ? { ssim: s } : {}), ...(b !== undefined ? { blur: b } : {}),
    words: `${grade} (${psnrDb.toFixed(1)} dB PSNR ${on}${why})`,
  };
}
