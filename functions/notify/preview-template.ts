/**
 * The preview email: the delivering stage's early run put a preview in the delivery location.
 * It says plainly that this is a preview, made early in training, and that the final model
 * replaces it at the same links (one more email then). Everything interpolated is escaped.
 */
import { escapeHtml, layout, type RenderedEmail, type SuccessEmailData } from "./templates.js";

export interface PreviewEmailData {
  readonly jobId: string;
  readonly links: SuccessEmailData["links"];
  readonly quality?: string;
}

export const PREVIEW_NOTE = "This is a preview, made from the model early in training: it is blurrier and less complete than the final model.";
export const PREVIEW_REPLACED = "Training goes on. When it ends, the final model replaces this preview at the same link, and we email you again.";

export function renderPreviewEmail(data: PreviewEmailData): RenderedEmail {
  const subject = `Preview: a first look at your 3D model (job ${data.jobId})`;
  const text = [
    `A preview of your 3D model is ready (job ${data.jobId}).`,
    "",
    PREVIEW_NOTE,
    PREVIEW_REPLACED,
    "",
    `Open the preview in your browser: ${data.links.viewer}`,
    `Preview image: ${data.links.preview}`,
    ...(data.quality ? ["", `Quality preset: ${data.quality}`] : []),
  ].join("\n");
  const html = layout(
    subject,
    [
      `<h1 style="font-size:20px;margin:0 0 16px">Preview: a first look at your 3D model</h1>`,
      `<p style="background:#fff7e6;border:1px solid #f5c26b;border-radius:6px;padding:12px 16px"><strong>Preview.</strong> ${escapeHtml(PREVIEW_NOTE)}</p>`,
      `<p>${escapeHtml(PREVIEW_REPLACED)}</p>`,
      `<p><a href="${escapeHtml(data.links.viewer)}"><img src="${escapeHtml(data.links.thumbnail ?? data.links.preview)}" alt="Preview of the 3D model" width="480" style="max-width:100%;border-radius:4px;display:block"></a></p>`,
      `<p><a href="${escapeHtml(data.links.viewer)}" style="display:inline-block;background:#2563eb;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none">Open the preview</a></p>`,
      ...(data.quality ? [`<p style="color:#6b7280">Job <code>${escapeHtml(data.jobId)}</code> · quality preset ${escapeHtml(data.quality)}</p>`] : []),
    ].join("\n"),
  );
  return { subject, html, text };
}
