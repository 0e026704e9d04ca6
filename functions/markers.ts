/**
 * The small objects under `jobs/<id>/status/` that make a job's one-time effects happen once:
 * each notification, and the record that a cancel request stopped it. A retried job
 * (RedriveExecution) is a new round: its markers carry the redrive count, so the round after
 * a retry can be cancelled or fail and notify again. Round 0 keeps the plain names.
 */
import { statusPrefix } from "../pipeline/layout.js";
import type { ExecutionEvent } from "./ports.js";

const round = (redriveCount: number): string => (redriveCount > 0 ? `-r${redriveCount}` : "");

export const notificationMarkerKey = (jobId: string, status: string, redriveCount = 0): string =>
  `${statusPrefix(jobId)}notification-${status}${round(redriveCount)}.json`;

/** Written by a cancel request: the job, in this round, reads `cancelled`. */
export const cancelledMarkerKey = (jobId: string, redriveCount = 0): string => `${statusPrefix(jobId)}cancelled${round(redriveCount)}.json`;

/** How many times the execution was redriven (Step Functions' `ExecutionRedriven` events; the local runtime writes the same). */
export const redriveCountOf = (events: readonly ExecutionEvent[]): number => events.filter((e) => e.type === "ExecutionRedriven").length;
