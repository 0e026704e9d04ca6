/**
 * The two job emails, as HTML and plain text. Everything interpolated is HTML-escaped; the
 * only links are the job's delivery links (absolute URLs made by the ObjectStore).
 */
import { formatBytes, formatSeconds } from "../../pipeline/format.js";
import type { JobWarning } from "../warnings.js";

export interface SuccessEmailData {
  readonly jobId: string;
  /** `thumbnail`: the small JPEG the email shows (the preview image when the stage makes none). */
  readonly links: { readonly viewer: string; readonly preview: string; readonly scene: string; readonly thumbnail?: string };
  readonly counts: {
    readonly photosReceived?: number;
    readonly photosUsed?: number;
    readonly gaussians?: number;
    readonly sceneBytes?: number;
  };
  /** Per stage (by its label), seconds; and the whole job. */
  readonly durations: readonly { readonly stage: string; readonly seconds: number }[];
  readonly totalSeconds?: number;
  readonly costUsd: number;
  /** The job's quality preset (`preview`, `standard`, `high`). */
  readonly quality?: string;
  /** The held-out quality in words, e.g. "sharp (27.4 dB PSNR on 9 held-out photos)". */
  readonly heldOut?: string;
  /** Where the site is: its coordinates from the georeference. */
  readonly place?: string;
  /** How long the links work, as a sentence (pipeline/delivery-facts.ts `linkLifetimeWords`). */
  readonly linkLifetime: string;
  /** What the stages warned about: the job "succeeded with warnings" when any. */
  readonly warnings?: readonly JobWarning[];
  /** A preview email went out earlier: these links, the same, now show the final model. */
  readonly replacesPreview?: boolean;
}

export interface FailureEmailData {
  readonly jobId: string;
  /** The failed stage's label (`Stage.label`). */
  readonly stage?: string;
  readonly reason: string;
  readonly advice: string;
  /** The page's Retry for this job (reruns it from the failed stage), where the deployment has a page. */
  readonly retryUrl?: string;
  /** A preview was delivered before the job failed: its link still shows only that preview. */
  readonly previewOnly?: boolean;
}

export interface RenderedEmail {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const number = (n: number): string => n.toLocaleString("en-US");

export function layout(title: string, body: string): string {
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="margin:0;padding:24px;background:#f4f5f7;font-family:Helvetica,Arial,sans-serif;color:#1d2230">',
    '<div style="max-width:600px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px">',
    body,
    '<p style="color:#6b7280;font-size:12px;margin-top:32px">Spaceport: drone photos to 3D. Reply to this email if you need help.</p>',
    "</div></body></html>",
  ].join("\n");
}

/** The "succeeded with warnings" part of the success email, as text lines and HTML. */
function warningBlock(warnings: readonly JobWarning[]): { text: string[]; html: string } {
  if (warnings.length === 0) return { text: [], html: "" };
  const label = (w: JobWarning) => w.stage; // the handler passes the stage's label
  return {
    text: ["The job succeeded with warnings:", ...warnings.map((w) => `  - ${label(w)}: ${w.message}`), ""],
    html: [
      '<div style="background:#fff7e6;border:1px solid #f5c26b;border-radius:6px;padding:12px 16px;margin:16px 0">',
      "<p style=\"margin:0 0 8px\"><strong>The job succeeded with warnings:</strong></p>",
      `<ul style="margin:0;padding-left:20px">${warnings.map((w) => `<li><strong>${escapeHtml(label(w))}:</strong> ${escapeHtml(w.message)}</li>`).join("")}</ul>`,
      "</div>",
    ].join(""),
  };
}

const REPLACES_PREVIEW = "This is the final model: it has replaced the preview we sent earlier, at the same links.";
const PREVIEW_ONLY = "The link in the preview email still works, but it shows only the preview made early in training, not a finished model.";

export function renderSuccessEmail(data: SuccessEmailData): RenderedEmail {
  const warned = warningBlock(data.warnings ?? []);
  const subject = `Your 3D model is ready${warned.html ? ", with warnings" : ""} (job ${data.jobId})`;
  const counts: [string, string][] = [];
  if (data.counts.photosReceived !== undefined) counts.push(["Photos received", number(data.counts.photosReceived)]);
  if (data.counts.photosUsed !== undefined) counts.push(["Photos used", number(data.counts.photosUsed)]);
  if (data.counts.gaussians !== undefined) counts.push(["Gaussians", number(data.counts.gaussians)]);
  if (data.counts.sceneBytes !== undefined) counts.push(["File size", formatBytes(data.counts.sceneBytes)]);
  if (data.heldOut) counts.push(["Held-out quality", data.heldOut]);
  if (data.place) counts.push(["Site", data.place]);
  if (data.quality) counts.push(["Quality preset", data.quality]);
  const times: [string, string][] = data.durations.map((d) => [d.stage, formatSeconds(d.seconds)]);
  if (data.totalSeconds !== undefined) times.push(["Total", formatSeconds(data.totalSeconds)]);
  const cost = `$${data.costUsd.toFixed(2)}`;

  const text = [
    `Your 3D model is ready (job ${data.jobId}).`,
    "",
    ...(data.replacesPreview ? [REPLACES_PREVIEW, ""] : []),
    ...warned.text,
    `Open it in your browser: ${data.links.viewer}`,
    `Preview image: ${data.links.preview}`,
    `Download the scene (SOG): ${data.links.scene}`,
    "",
    ...counts.map(([k, v]) => `${k}: ${v}`),
    "",
    "Processing time:",
    ...times.map(([k, v]) => `  ${k}: ${v}`),
    "",
    `Estimated compute cost: ${cost}`,
    data.linkLifetime,
  ].join("\n");

  const row = ([k, v]: [string, string]) =>
    `<tr><td style="padding:4px 16px 4px 0;color:#6b7280">${escapeHtml(k)}</td><td style="padding:4px 0">${escapeHtml(v)}</td></tr>`;
  const html = layout(
    subject,
    [
      `<h1 style="font-size:20px;margin:0 0 16px">Your 3D model is ready</h1>`,
      `<p>Job <code>${escapeHtml(data.jobId)}</code> has finished.</p>`,
      ...(data.replacesPreview ? [`<p>${escapeHtml(REPLACES_PREVIEW)}</p>`] : []),
      ...(warned.html ? [warned.html] : []),
      `<p><a href="${escapeHtml(data.links.viewer)}"><img src="${escapeHtml(data.links.thumbnail ?? data.links.preview)}" alt="Preview of the 3D model" width="480" style="max-width:100%;border-radius:4px;display:block"></a></p>`,
      `<p><a href="${escapeHtml(data.links.viewer)}" style="display:inline-block;background:#2563eb;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none">Open the 3D viewer</a></p>`,
      `<p><a href="${escapeHtml(data.links.scene)}">Download the scene (SOG)</a> · <a href="${escapeHtml(data.links.preview)}">Preview image</a></p>`,
      `<table style="border-collapse:collapse;margin:16px 0">${counts.map(row).join("")}</table>`,
      `<h2 style="font-size:16px">Processing time</h2>`,
      `<table style="border-collapse:collapse">${times.map(row).join("")}</table>`,
      `<p>Estimated compute cost: <strong>${escapeHtml(cost)}</strong></p>`,
      `<p style="color:#6b7280">${escapeHtml(data.linkLifetime)}</p>`,
    ].join("\n"),
  );
  return { subject, html, text };
}

export function renderFailureEmail(data: FailureEmailData): RenderedEmail {
  const subject = `Your 3D model could not be made (job ${data.jobId})`;
  const where = data.stage ? ` during ${data.stage.toLowerCase()}` : "";
  const reason = data.reason.replace(/\s+$/, "");
  const text = [
    `Job ${data.jobId} stopped${where}.`,
    "",
    `What went wrong: ${reason}`,
    "",
    `What to do: ${data.advice}`,
    ...(data.previewOnly ? ["", PREVIEW_ONLY] : []),
    ...(data.retryUrl ? ["", `Retry from the failed stage (finished stages are kept): ${data.retryUrl}`] : []),
    "",
    "Your uploaded photos have not been changed or deleted.",
  ].join("\n");
  const html = layout(
    subject,
    [
      `<h1 style="font-size:20px;margin:0 0 16px">Your 3D model could not be made</h1>`,
      `<p>Job <code>${escapeHtml(data.jobId)}</code> stopped${escapeHtml(where)}.</p>`,
      `<p><strong>What went wrong:</strong> ${escapeHtml(reason)}</p>`,
      `<p><strong>What to do:</strong> ${escapeHtml(data.advice)}</p>`,
      ...(data.previewOnly ? [`<p>${escapeHtml(PREVIEW_ONLY)}</p>`] : []),
      ...(data.retryUrl
        ? [`<p><a href="${escapeHtml(data.retryUrl)}" style="display:inline-block;background:#2563eb;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none">Retry from the failed stage</a> <span style="color:#6b7280">(finished stages are kept)</span></p>`]
        : []),
      `<p style="color:#6b7280">Your uploaded photos have not been changed or deleted.</p>`,
    ].join("\n"),
  );
  return { subject, html, text };
}

export interface CancelledEmailData {
  readonly jobId: string;
  /** The stage that was running when the job was stopped (its label). */
  readonly stage?: string;
}

export function renderCancelledEmail(data: CancelledEmailData): RenderedEmail {
  const subject = `Your job was cancelled (job ${data.jobId})`;
  const where = data.stage ? ` during ${data.stage.toLowerCase()}` : "";
  const text = [
    `Job ${data.jobId} was cancelled${where}, as requested.`,
    "",
    "Nothing more will run or be charged for this job. Your uploaded photos and the stages that had finished are kept: retry the job to continue from where it stopped.",
  ].join("\n");
  const html = layout(
    subject,
    [
      `<h1 style="font-size:20px;margin:0 0 16px">Your job was cancelled</h1>`,
      `<p>Job <code>${escapeHtml(data.jobId)}</code> was cancelled${escapeHtml(where)}, as requested.</p>`,
      `<p>Nothing more will run or be charged for this job.</p>`,
      `<p style="color:#6b7280">Your uploaded photos and the stages that had finished are kept: retry the job to continue from where it stopped.</p>`,
    ].join("\n"),
  );
  return { subject, html, text };
}
