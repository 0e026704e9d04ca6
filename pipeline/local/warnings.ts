// The CLI summary's view of a succeeded job's warnings: read from the delivery's report.json in
// the local job folder (the same file and parser job status and the email use).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { warningsOf, type JobWarning } from "../../functions/warnings.js";

export function deliveryWarnings(jobFolder: string | undefined, deliveryOutput: string): JobWarning[] {
  if (!jobFolder) return [];
  try {
    return warningsOf(JSON.parse(readFileSync(join(jobFolder, deliveryOutput, "report.json"), "utf8")));
  } catch {
    return [];
  }
}

/** "succeeded with warnings:" and one line per warning; nothing when there are none. */
export function warningLines(warnings: readonly JobWarning[]): string[] {
  if (warnings.length === 0) return [];
  return ["", "succeeded with warnings:", ...warnings.map((w) => `  ${w.stage}: ${w.message} [${w.code}]`)];
}
