/**
 * Notifications the local runtime sends itself (a job failed by recovery after its runtime
 * died): the same notify function as the state machine's, retried with the same backoff policy
 * as the state machine's email retrier (EMAIL_RETRY), and kept in the job store until sent or
 * given up, so a retry survives a restart. Each attempt is recorded by the notify function, so
 * job-status shows `notification: retrying | sent | failed`.
 */
import { afterFailedAttempt, notifyRetryDelayMs, type NotificationState } from "../../functions/notify/state.js";
import type { NotifyPayload } from "../notify-payload.js";
import type { JobStore } from "./store.js";

/** The notify function: what the state machine's `lambda:invoke` sends it (a NotifyPayload, validated by the function). */
export type NotifyFunction = (payload: unknown) => Promise<unknown>;

export interface NotificationOutcome {
  readonly state: NotificationState;
  /** The last send error, when not sent. */
  readonly error?: string;
}

export class NotificationRetrier {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly attempts = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly store: JobStore,
    private readonly notify: NotifyFunction,
    /** First wait between attempts; doubles after each (EMAIL_RETRY's IntervalSeconds by default). */
    private readonly baseMs?: number,
  ) {}

  /** Sends now; on failure keeps it for retries (scheduled unless the runtime is closing). */
  async deliver(execution: string, payload: NotifyPayload, options: { schedule?: boolean } = {}): Promise<NotificationOutcome> {
    return this.attempt(execution, JSON.stringify(payload), 0, options.schedule ?? true);
  }

  /** Schedules the notifications a previous run of the runtime left unsent. */
  resume(): void {
    for (const row of this.store.pendingNotifications()) this.schedule(row.execution, row.payload, row.attempts, row.next.getTime() - Date.now());
  }

  /** Stops retrying here (pending ones stay in the store for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.attempts]);
  }

  private async attempt(execution: string, payload: string, before: number, schedule: boolean): Promise<NotificationOutcome> {
    const attempts = before + 1;
    const sending = this.notify(JSON.parse(payload) as NotifyPayload);
    this.attempts.add(sending);
    try {
      await sending;
      this.store.deletePendingNotification(execution);
      return { state: "sent" };
    } catch (error) {
      const state = afterFailedAttempt(attempts);
      const message = String((error as Error)?.message ?? error);
      if (state === "failed") {
        this.store.deletePendingNotification(execution);
        return { state, error: message };
      }
      const delay = notifyRetryDelayMs(attempts, this.baseMs);
      this.store.savePendingNotification({ execution, payload, attempts, next: new Date(Date.now() + delay) });
      if (schedule) this.schedule(execution, payload, attempts, delay);
      return { state, error: message };
    } finally {
      this.attempts.delete(sending);
    }
  }

  private schedule(execution: string, payload: string, attempts: number, delayMs: number): void {
    if (this.closed || this.timers.has(execution)) return;
    const timer = setTimeout(() => {
      this.timers.delete(execution);
      if (!this.closed) void this.attempt(execution, payload, attempts, true);
    }, Math.max(0, delayMs));
    timer.unref();
    this.timers.set(execution, timer);
  }
}
