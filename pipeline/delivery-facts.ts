/**
 * What a buyer gets, as the delivery report (the compressor's report.json) states it: the
 * held-out quality in words, where the site is (the georeference's latitude/longitude, no
 * geocoding), the scene's file size, whether the page streams the scene (a large scene's levels
 * of detail) or loads it as one file, and how long the links last. Job status, the email and
 * the run summary all read it from here.
 */
import { formatBytes } from "./format.js";
import { heldOutQuality, type HeldOutQuality } from "./held-out-quality.js";

export interface SitePlace {
  readonly lat: number;
  readonly lon: number;
  /** e.g. "51.50074° N, 0.12425° W". */
  readonly words: string;
}

export interface DeliveryFacts {
  readonly quality?: HeldOutQuality;
  readonly place?: SitePlace;
  readonly sceneBytes?: number;
  readonly sceneSize?: string;
  /** What the viewer page loads: "streamed" (levels of detail, with the single file beside) or "single-file". */
  readonly form?: DeliveryForm;
}

export type DeliveryForm = "streamed" | "single-file";

/** How long delivery links work: the stack's expiry (days), or, locally, while they are served. */
export type LinkLifetime = { readonly days: number } | { readonly whileServed: true };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** "51.50074° N, 0.12425° W" (5 decimals: about a metre). */
export function coordinatesWords(lat: number, lon: number): string {
  return `${Math.abs(lat).toFixed(5)}° ${lat >= 0 ? "N" : "S"}, ${Math.abs(lon).toFixed(5)}° ${lon >= 0 ? "E" : "W"}`;
}

export function placeOf(georeference: unknown): SitePlace | undefined {
  const origin = isObject(georeference) ? georeference["origin"] : undefined;
  if (!isObject(origin)) return undefined;
  const { lat, lon } = origin;
  if (typeof lat !== "number" || typeof lon !== "number" || !(Math.abs(lat) <= 90) || !(Math.abs(lon) <= 180)) return undefined;
  return { lat, lon, words: coordinatesWords(lat, lon) };
}

/** The facts a delivery report holds (each one only when it is there and well formed). */
export function deliveryFacts(report: unknown): DeliveryFacts {
  if (!isObject(report)) return {};
  const q = isObject(report["quality"]) ? report["quality"] : {};
  const quality = heldOutQuality(q["psnrDb"], q["ssim"], q["views"], q["blur"]);
  const place = placeOf(report["georeference"]);
  const output = isObject(report["output"]) ? report["output"] : {};
  const bytes = output["sogBytes"];
  const sceneBytes = typeof bytes === "number" && Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
  const delivery = isObject(report["delivery"]) ? report["delivery"] : {};
  const form = delivery["form"] === "streamed" || delivery["form"] === "single-file" ? delivery["form"] : undefined;
  return {
    ...(quality ? { quality } : {}),
    ...(place ? { place } : {}),
    ...(sceneBytes !== undefined ? { sceneBytes, sceneSize: formatBytes(sceneBytes) } : {}),
    ...(form ? { form } : {}),
  };
}

/** "The links work for 90 days." / "The links work while this machine serves them." */
export function linkLifetimeWords(lifetime: LinkLifetime): string {
  return "days" in lifetime
    ? `The links work for ${lifetime.days} day${lifetime.days === 1 ? "" : "s"}.`
    : "The links work while this machine serves them (a local run: nothing expires them).";
}
