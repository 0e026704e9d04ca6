/**
 * Whether a job's submitter was told, kept apart from the job's outcome: one record per job,
 * outcome and round, `jobs/<id>/status/notification-<outcome>[-r<round>].json`, written by the
 * notify function (or the cancel request) after every attempt. job-status shows its state (`notification: sent | retrying | failed`); the
 * same record keeps a retried invocation from mailing twice.
 */
import { EMAIL_RETRY } from "../../pipeline/compile.js";
import { notificationMarkerKey } from "../markers.js";
import type { ObjectStore } from "../ports.js";

export type NotificationState = "sent" | "retrying" | "failed";
/** What an email told: notify sends succeeded, failed and preview, a cancel request cancelled (functions/cancel). */
export type NotifiedOutcome = "succeeded" | "failed" | "cancelled" | "preview";

export interface NotificationRecord {
  readonly state: NotificationState;
  /** Send attempts made so far. */
  readonly attempts: number;
  readonly messageId?: string;
  readonly sentAt?: string;
  /** The last send error (no address in it: the mailer's message). */
  readonly lastError?: string;
  readonly updatedAt: string;
}

/** Attempts in all: the first, then the state machine's email retrier (or the local runtime's, with the same policy). */
export const MAX_NOTIFY_ATTEMPTS = 1 + (EMAIL_RETRY.MaxAttempts ?? 3);

/** Wait before attempt `attempt` + 1 (1-based `attempt`), as EMAIL_RETRY without jitter: 10 s, 20 s, 40 s, ... */
export function notifyRetryDelayMs(attempt: number, baseMs = (EMAIL_RETRY.IntervalSeconds ?? 1) * 1000): number {
  return baseMs * (EMAIL_RETRY.BackoffRate ?? 2) ** Math.max(0, attempt - 1);
}

/** The record of one round's notification: a retried job (redriven) is a new round (../markers.ts). */
export const notificationKey = (jobId: string, outcome: NotifiedOutcome, round = 0): string => notificationMarkerKey(jobId, outcome, round);

export async function readNotification(store: ObjectStore, bucket: string, jobId: string, outcome: NotifiedOutcome, round = 0): Promise<NotificationRecord | undefined> {
  const text = await store.getText(bucket, notificationKey(jobId, outcome, round));
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<NotificationRecord>;
    // Records written before states existed were written only once the email was sent.
    return { attempts: 1, updatedAt: parsed.sentAt ?? "", ...parsed, state: parsed.state ?? "sent" };
  } catch {
    return undefined;
  }
}

/** The notification of a job's outcome in its current round (none while it runs). */
export async function notificationState(store: ObjectStore, bucket: string, jobId: string, jobState: string, round = 0): Promise<NotificationState | undefined> {
  if (jobState !== "succeeded" && jobState !== "failed" && jobState !== "cancelled") return undefined;
  return (await readNotification(store, bucket, jobId, jobState, round))?.state;
}

/** The state after a failed attempt `attempts`: retrying until the last one. */
export const afterFailedAttempt = (attempts: number): NotificationState => (attempts >= MAX_NOTIFY_ATTEMPTS ? "failed" : "retrying");
