/**
 * What `spaceport run` and `status` show of a finished Spaceport job, from its stages' own
 * reports (their stage contracts: sfm/report.json, the trainer's metrics.json, the delivery's
 * report.json): photos used, held-out quality in words, Gaussians, where the site is, size, and
 * how long the links work (a local run's links: while it serves them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deliveryFacts, linkLifetimeWords } from "../pipeline/delivery-facts.js";
import { formatBytes } from "../pipeline/format.js";
import { heldOutQuality } from "../pipeline/held-out-quality.js";
import { parseJsonObject } from "../pipeline/json.js";

const readJson = (path: string): Record<string, unknown> | undefined => {
  try {
    return parseJsonObject(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
};
const fixed = (value: unknown, digits: number, unit = ""): string => (typeof value === "number" ? `${value.toFixed(digits)}${unit}` : "n/a");

export function spaceportSummary(jobFolder: string, sageMakerJobFolders: readonly string[]): string[] {
  const lines: string[] = [];
  const sfm = readJson(join(jobFolder, "sfm", "report.json"));
  if (sfm) lines.push(`photos used:    ${String(sfm["photos_placed"])} of ${String(sfm["photos_received"])} placed`);
  const metrics = sageMakerJobFolders.map((f) => readJson(join(f, "opt", "ml", "model", "metrics.json"))).find(Boolean);
  if (metrics) {
    const views = (metrics["images"] as { held_out?: unknown } | undefined)?.held_out;
    const words = heldOutQuality(metrics["psnr"], metrics["ssim"], views, metrics["equivalent_blur"])?.words ?? "not measured";
    lines.push(`held-out:       ${words}, SSIM ${fixed(metrics["ssim"], 3)} (${String(metrics["steps"])} steps)`);
    lines.push(`Gaussians:      ${Number(metrics["gaussians"]).toLocaleString("en-US")}`);
  }
  const report = readJson(join(jobFolder, "delivery", "report.json"));
  const place = deliveryFacts(report).place;
  if (place) lines.push(`site:           ${place.words}`);
  const output = report?.["output"] as { sogBytes?: number; compressionRatio?: number } | undefined;
  if (output) lines.push(`SOG:            ${formatBytes(Number(output.sogBytes))} (${Number(output.compressionRatio).toFixed(1)}x smaller than the PLY)`);
  if (report) lines.push(`links:          ${linkLifetimeWords({ whileServed: true })}`);
  return lines;
}
