/**
 * How an announced upload is cut into parts, and whether what arrived matches it. Pure: the
 * same rules for S3 and the local store. S3 allows at most 10,000 parts of 5 MiB to 5 GiB
 * (the last one smaller); parts here are at least 8 MiB so a 2 GB ZIP is about 250 PUTs.
 */
import type { UploadedPart } from "../ports.js";

export const MIB = 1024 * 1024;
export const MIN_PART_BYTES = 8 * MIB;
export const MAX_PARTS = 10_000;
/** Part URLs handed out per request (keeps answers small for the largest uploads). */
export const MAX_URLS_PER_REQUEST = 100;

export interface PartPlan {
  readonly size: number;
  readonly partSize: number;
  readonly partCount: number;
}

/** The smallest whole-MiB part size of at least 8 MiB that fits `size` into 10,000 parts. */
export function planParts(size: number): PartPlan {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`size must be a whole number of bytes >= 1, got ${size}`);
  const partSize = Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS / MIB) * MIB);
  return { size, partSize, partCount: Math.ceil(size / partSize) };
}

/** The bytes part `partNumber` (1-based) must have. */
export function expectedPartBytes(plan: PartPlan, partNumber: number): number {
  return partNumber < plan.partCount ? plan.partSize : plan.size - (plan.partCount - 1) * plan.partSize;
}

/**
 * The parts to complete with, in order, or the first reason they do not make the announced
 * upload (a part missing, or of the wrong size, or one beyond the last).
 */
export function checkParts(plan: PartPlan, received: readonly UploadedPart[]): { ok: true; parts: UploadedPart[] } | { ok: false; reason: string } {
  const byNumber = new Map(received.map((part) => [part.partNumber, part]));
  const parts: UploadedPart[] = [];
  for (let n = 1; n <= plan.partCount; n++) {
    const part = byNumber.get(n);
    if (!part) return { ok: false, reason: `part ${n} of ${plan.partCount} has not been uploaded` };
    const expected = expectedPartBytes(plan, n);
    if (part.size !== expected) return { ok: false, reason: `part ${n} has ${part.size} bytes; it must have ${expected}` };
    parts.push(part);
  }
  const extra = received.find((part) => part.partNumber > plan.partCount);
  if (extra) return { ok: false, reason: `part ${extra.partNumber} is beyond the last part (${plan.partCount})` };
  return { ok: true, parts };
}
