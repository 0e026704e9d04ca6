/**
 * What the notify function receives, typed once: the state machine builds it in its two
 * Notify states (compile.ts), the local runtime builds the same for a job its crash ended,
 * and the notify handler validates it (functions/notify/handler.ts).
 */
export interface NotifyPayload {
  readonly jobId: string;
  readonly email: string;
  readonly options: Readonly<Record<string, string>>;
  /** What each stage's Task answered (`$.stages`). */
  readonly stages: Readonly<Record<string, unknown>>;
  readonly pipeline?: string;
  /** `preview`: the delivering stage's early run put a preview in the delivery location (compile-early.ts). */
  readonly status: "succeeded" | "failed" | "preview";
  /** `s3://<bucket>/jobs/<jobId>/<delivery>/` on success and preview. */
  readonly deliveryUri?: string;
  /** The failed stage and Step Functions' error (`$.failure`). */
  readonly failure?: NotifyFailure;
  /** `$$.Execution.RedriveCount` on failure: which round of a retried job failed. */
  readonly redriveCount?: number;
}

export interface NotifyFailure {
  readonly stage?: string;
  readonly error?: { readonly Error?: string; readonly Cause?: string };
  /** The redrive count when the failure was recorded (the retry gate compares against it). */
  readonly redriveCount?: number;
}

/** Step Functions Parameters for a `T`: each field as a value (`key`) or a JSONPath (`key.$`). */
export type AslFields<T> = { -readonly [K in keyof T & string as K | `${K}.$`]?: unknown };
