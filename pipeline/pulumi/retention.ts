/**
 * Retention of the processing bucket, and why it uses tags.
 *
 * The job layout puts the job id first (`jobs/<jobId>/sfm/...`), and S3 lifecycle filters
 * match key *prefixes* (plus tags and sizes), never a pattern like `jobs/*\/sfm/`. Rather
 * than change the layout, the stack combines two rules:
 *
 *  1. `jobs/` (prefix) expires after `deliveryRetentionDays`: inputs, deliveries and
 *     everything else of a job live exactly that long, never shorter (at least 7 days).
 *  2. objects tagged `spaceport:retention=intermediate` expire after
 *     `intermediateRetentionDays`. A small function subscribed to the bucket's
 *     ObjectCreated events tags each new object whose key is an intermediate output
 *     (every stage output except the delivered one, and checkpoints) — SageMaker uploads
 *     those objects itself, so the containers cannot tag them.
 *
 * Failure modes are safe: a missed tag only means an intermediate lives as long as a
 * delivery; nothing can make an input or a delivery expire early, because only rule 2
 * expires early and only the tagger sets that tag, only on intermediate keys. (CopyObject
 * would carry a source's tags over; start-job copies with `TaggingDirective: "REPLACE"` and no
 * tags, so a submitted object tagged `spaceport:retention=intermediate` cannot bring its tag.)
 */
import type { Pipeline } from "../define.js";
import { parseJobKey, TAGS } from "../layout.js";
import { jobPrefixes } from "./policies.js";

export const RETENTION_TAG = TAGS.retention;
export const INTERMEDIATE = "intermediate";
/** Environment variable of the tagger: comma-separated folder names under `jobs/<jobId>/`. */
export const INTERMEDIATE_FOLDERS_VARIABLE = "SPACEPORT_INTERMEDIATE_FOLDERS";

/** Folders under `jobs/<jobId>/` that expire early, for a pipeline. */
export function intermediateFolders(pipeline: Pipeline): string[] {
  return jobPrefixes(pipeline).intermediate;
}

/** Whether an object key is an intermediate artifact (to be tagged for early expiry). */
export function isIntermediateKey(key: string, folders: readonly string[]): boolean {
  const parsed = parseJobKey(key);
  return parsed !== undefined && folders.includes(parsed.folder);
}

/** S3 event keys are URL-encoded with `+` for spaces. */
export function decodeS3EventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}
