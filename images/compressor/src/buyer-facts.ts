// What the delivery says to its buyer beside the model: the held-out quality in words (the
// trainer's metrics.json, graded by pipeline/held-out-quality.ts), where the site is (the SfM
// georeference's latitude/longitude), the scene's size; a line on the viewer page under the
// title, and a thumbnail small enough for an email (thumbnail.jpg, from the preview).
import { existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { linkLifetimeWords, placeOf, type LinkLifetime, type SitePlace } from "../../../pipeline/delivery-facts.js";
import { formatBytes } from "../../../pipeline/format.js";
import { heldOutQuality, type HeldOutQuality } from "../../../pipeline/held-out-quality.js";
import { HELPER, pythonExecutable, runProcess } from "./kmeans.js";
import type { Georeference } from "./upstream.js";

export const THUMBNAIL_FILE = "thumbnail.jpg";
/** Longest side of the email thumbnail (px) and the size it must stay under. */
export const THUMBNAIL_WIDTH = 480;
export const THUMBNAIL_MAX_BYTES = 60 * 1024;

export type BuyerFacts = {
  quality: (HeldOutQuality & { views: number | null }) | null;
  place: SitePlace | null;
  sceneBytes: number;
};

/** Held-out PSNR/SSIM, equivalent blur and view count from the trainer's metrics.json (null when absent or unreadable). */
export async function readHeldOut(metricsPath: string | null): Promise<BuyerFacts["quality"]> {
  if (!metricsPath) return null;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(await readFile(metricsPath, "utf8")) as Record<string, unknown>;
  } catch {
    return null; // a damaged metrics file costs the quality line only
  }
  const images = m["images"] as { held_out?: unknown } | undefined;
  const views = typeof images?.held_out === "number" ? images.held_out : null;
  const q = heldOutQuality(m["psnr"], m["ssim"], views ?? undefined, m["equivalent_blur"]);
  return q ? { ...q, views } : null;
}

export async function buyerFacts(metricsPath: string | null, georeference: Georeference | null, sceneBytes: number): Promise<BuyerFacts> {
  return { quality: await readHeldOut(metricsPath), place: placeOf(georeference) ?? null, sceneBytes };
}

/** What else the facts line says: the place (off where the page's measuring tool shows it) and
 *  how long the links work (when the runtime told the stage). */
export type FactsLineOptions = { place?: boolean; linkLifetime?: LinkLifetime | null };

/** "Quality: sharp (27.4 dB PSNR on 9 held-out photos) · 51.50074° N, 0.12425° W · scene 17.1 MB · The links work for 90 days." */
export function factsLine(facts: BuyerFacts, opts: FactsLineOptions = {}): string {
  const parts = [
    facts.quality ? `Quality: ${facts.quality.words}` : "Quality: not measured (no held-out photos)",
    ...(facts.place && opts.place !== false ? [facts.place.words] : []),
    `scene ${formatBytes(facts.sceneBytes)}`,
    ...(opts.linkLifetime ? [linkLifetimeWords(opts.linkLifetime)] : []),
  ];
  return parts.join(" · ");
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const BADGE = /<div id="spaceport-title"[^>]*>[^<]*(?:<div id="spaceport-scale"[^>]*>[^<]*<\/div>)?/;

/** The viewer page with the facts line inside its title badge (under the scale line). */
export function withFactsLine(html: string, line: string): string {
  if (!BADGE.test(html)) throw new Error("viewer page has no title badge to put the delivery facts in");
  const div = `<div id="spaceport-facts" style="font:400 13px/1.3 system-ui,sans-serif">${escapeHtml(line)}</div>`;
  return html.replace(BADGE, (m) => m + div);
}

export async function addFactsToPage(deliveryDir: string, facts: BuyerFacts, opts: FactsLineOptions = {}): Promise<void> {
  const page = join(deliveryDir, "index.html");
  await writeFile(page, withFactsLine(await readFile(page, "utf8"), factsLine(facts, opts)));
}

export type Thumbnail = { written: true; file: string; bytes: number; width: number; height: number } | { written: false; reason: string };

/** thumbnail.jpg from preview.webp (JPEG: what every mail client shows), at most THUMBNAIL_MAX_BYTES. */
export async function writeThumbnail(deliveryDir: string): Promise<Thumbnail> {
  const preview = join(deliveryDir, "preview.webp");
  if (!existsSync(preview)) return { written: false, reason: "no preview image to make it from" };
  const out = join(deliveryDir, THUMBNAIL_FILE);
  try {
    const r = JSON.parse(await runProcess(pythonExecutable(), [HELPER, "thumbnail", "--input", preview, "--out", out,
      "--width", String(THUMBNAIL_WIDTH), "--max-bytes", String(THUMBNAIL_MAX_BYTES)])) as { width: number; height: number };
    return { written: true, file: THUMBNAIL_FILE, bytes: (await stat(out)).size, width: r.width, height: r.height };
  } catch (e) {
    return { written: false, reason: `thumbnail failed: ${(e as Error).message.slice(0, 200)}` };
  }
}
