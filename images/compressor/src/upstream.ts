// What the earlier stages reported, as the compressor receives it inside the model: the
// training stage's metrics.json and the reports it carried from before it (upstream.json, see
// images/gaussian-splatting/gs_trainer/upstream.py). The delivery's report repeats every stage's
// warnings with the stage's name, and the SfM stage's georeference (whether distances in the
// model are metres), which the viewer page states.
import { readFile } from "node:fs/promises";

export type StageWarning = { stage: string; code: string; message: string };
/** `origin`: latitude/longitude of the model's ENU origin (the SfM report's GPS fit), when there is one. */
export type Georeference = { frame: string; metric: boolean; rms_m: number | null; extent_m: number | null; reason?: string; origin?: { lat: number; lon: number } };
export type Upstream = { warnings: StageWarning[]; georeference: Georeference | null };

/** The stage whose report metrics.json is (the compressor's one input comes from it). */
export const TRAINING_STAGE = "gaussian-splatting";
const MAX_PER_STAGE = 20;
const MAX_MESSAGE = 1000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

async function readObject(path: string | null): Promise<Record<string, unknown> | null> {
  if (!path) return null;
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as unknown;
    return isObject(v) ? v : null;
  } catch {
    return null; // a damaged report costs only what it held; the model itself is fine
  }
}

/** A report's well-formed `warnings` entries, tagged with the stage's name. */
export function stageWarnings(report: Record<string, unknown>, fallbackStage: string): StageWarning[] {
  const stage = typeof report["stage"] === "string" && report["stage"] ? report["stage"] : fallbackStage;
  const list = Array.isArray(report["warnings"]) ? report["warnings"] : [];
  return list
    .filter((w): w is { code: string; message: string } => isObject(w) && typeof w["code"] === "string" && typeof w["message"] === "string")
    .slice(0, MAX_PER_STAGE)
    .map((w) => ({ stage, code: w.code.slice(0, 80), message: w.message.slice(0, MAX_MESSAGE) }));
}

function georeferenceOf(report: Record<string, unknown>): Georeference | null {
  const g = report["georeference"];
  if (!isObject(g) || typeof g["metric"] !== "boolean") return null;
  const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return {
    frame: typeof g["frame"] === "string" ? g["frame"] : "unknown",
    metric: g["metric"],
    rms_m: num(g["rms_m"]),
    extent_m: num(g["extent_m"]),
    ...(typeof g["reason"] === "string" ? { reason: g["reason"] } : {}),
    ...originOf(report["gps"]),
  };
}

/** The GPS fit's origin as `{ origin }`, or nothing when the report has no usable one. */
function originOf(gps: unknown): { origin?: { lat: number; lon: number } } {
  const o = isObject(gps) ? gps["origin"] : null;
  if (!isObject(o)) return {};
  const lat = o["lat"], lon = o["lon"];
  if (typeof lat !== "number" || typeof lon !== "number" || !(Math.abs(lat) <= 90) || !(Math.abs(lon) <= 180)) return {};
  return { origin: { lat, lon } };
}

export async function readUpstream(upstreamPath: string | null, metricsPath: string | null): Promise<Upstream> {
  const carried = await readObject(upstreamPath);
  const reports = Array.isArray(carried?.["reports"]) ? (carried["reports"] as unknown[]).filter(isObject) : [];
  const metrics = await readObject(metricsPath);
  const warnings = [...reports.flatMap((r, i) => stageWarnings(r, `stage ${i + 1}`)), ...(metrics ? stageWarnings(metrics, TRAINING_STAGE) : [])];
  const georeference = reports.map(georeferenceOf).findLast((g) => g !== null) ?? null;
  return { warnings, georeference };
}

/** What the viewer page says about distances in the model (null: nothing known, nothing said). */
export function scaleNotice(geo: Georeference | null): string | null {
  if (!geo) return null;
  if (geo.metric) return `Scale: metres (GPS-referenced${geo.rms_m !== null ? `, ±${geo.rms_m < 1 ? geo.rms_m.toFixed(2) : geo.rms_m.toFixed(1)} m` : ""})`;
  return geo.frame === "arbitrary"
    ? "Not to scale: the photos had no GPS, so distances in this model are not reliable"
    : "Distances in this model are not reliable: its GPS fit is poor";
}
