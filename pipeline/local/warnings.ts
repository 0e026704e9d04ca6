// The CLI summary's view of a succeeded job's warnings: read from the delivery's report in the
// local job folder (the same file and parser job status and the email use).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { warningsOf, type JobWarning } from "../../functions/warnings.js";
import { deliveryLinks, type Pipeline } from "../define.js";

/** Warnings in `<jobFolder>/<delivery output>/<report link>`; none when the pipeline's delivery links no report. */
export function deliveryWarnings(jobFolder: string | undefined, pipeline: Pick<Pipeline, "stages" | "delivery">): JobWarning[] {
  const report = deliveryLinks(pipeline)["report"];
  if (!jobFolder || !report) return [];
  try {
    return warningsOf(JSON.parse(readFileSync(join(jobFolder, pipeline.delivery.output, report), "utf8")));
  } catch {
    return [];
  }
}

/** "succeeded with warnings:" and one line per warning; nothing when there are none. */
export function warningLines(warnings: readonly JobWarning[]): string[] {
  if (warnings.length === 0) return [];
  return ["", "succeeded with warnings:", ...warnings.map((w) => `  ${w.stage}: ${w.message} [${w.code}]`)];
}
