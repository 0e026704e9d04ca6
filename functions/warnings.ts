/**
 * Warnings: a job that succeeded, but with something its submitter should know (the model is
 * not reliably metric, it is blurry, ...). Each stage may put `warnings: [{code, message}]` in
 * its report; the compressor, the last stage, gathers every stage's into the delivery's
 * report.json as `{stage, code, message}`. That file is the one source job status, the email
 * and the CLI summary read, through `warningsOf`.
 */
import type { ObjectStore } from "./ports.js";

export interface JobWarning {
  readonly stage: string;
  readonly code: string;
  readonly message: string;
}

/** The cap on what one report may put in front of a user. */
export const MAX_WARNINGS = 50;

/** The well-formed `{stage, code, message}` entries of a delivery report (anything else: none). */
export function warningsOf(report: unknown): JobWarning[] {
  const list = typeof report === "object" && report !== null ? (report as { warnings?: unknown }).warnings : undefined;
  if (!Array.isArray(list)) return [];
  const out: JobWarning[] = [];
  for (const w of list) {
    if (typeof w !== "object" || w === null) continue;
    const { stage, code, message } = w as Record<string, unknown>;
    if (typeof stage === "string" && typeof code === "string" && typeof message === "string") {
      out.push({ stage: stage.slice(0, 80), code: code.slice(0, 80), message: message.slice(0, 1000) });
    }
    if (out.length === MAX_WARNINGS) break;
  }
  return out;
}

/** The delivery report at `key`, parsed (undefined when it is missing or unreadable). */
export async function readDeliveryReport(store: ObjectStore, bucket: string, key: string): Promise<unknown> {
  let text: string | undefined;
  try {
    text = await store.getText(bucket, key);
  } catch {
    return undefined; // the links still work; a report we cannot read only costs what it says
  }
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Warnings of the delivery report at `key` ([] when it is missing or unreadable). */
export async function readDeliveryWarnings(store: ObjectStore, bucket: string, key: string): Promise<JobWarning[]> {
  return warningsOf(await readDeliveryReport(store, bucket, key));
}
