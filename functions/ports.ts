/**
 * Ports: the only way handlers reach the outside world. Each has an AWS adapter (SDK v3)
 * and a local adapter (file system / local Step Functions runner / SMTP or outbox), so the
 * handlers are the same code in Lambda and in `spaceport dev`.
 *
 * Owned by the functions (issue 3); the local runtime (issue 5) implements `Executions`
 * locally. Extend with care: both sides depend on these shapes.
 */

export interface ObjectInfo {
  readonly size: number;
  readonly lastModified?: Date;
  readonly contentType?: string;
}

/** S3 or a folder per bucket. Keys are S3 keys (`jobs/<id>/delivery/index.html`). */
export interface ObjectStore {
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  getText(bucket: string, key: string): Promise<string | undefined>;
  putText(bucket: string, key: string, body: string, contentType?: string): Promise<void>;
  copy(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<void>;
  list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]>;
  /** A link a browser can open for at least `days` days (CloudFront URL, or local HTTP URL). */
  publicUrl(bucket: string, key: string): Promise<string>;
}

/** Step Functions' execution history events, as `GetExecutionHistory` returns them (subset). */
export interface ExecutionEvent {
  readonly id: number;
  readonly timestamp: Date;
  readonly type: string; // e.g. "TaskStateEntered", "TaskStateExited", "TaskFailed", "WaitStateEntered", "ExecutionFailed"
  readonly stateName?: string;
  readonly error?: string;
  readonly cause?: string;
  /** Input (on entered) or output (on exited) JSON, when available. */
  readonly json?: string;
}

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED";

export interface ExecutionRecord {
  readonly name: string;
  readonly status: ExecutionStatus;
  readonly startDate: Date;
  readonly stopDate?: Date;
  readonly input: string;
  readonly output?: string;
  readonly error?: string;
  readonly cause?: string;
}

export interface Executions {
  /**
   * Starts the state machine with `name` = job id. Idempotent: starting a name that exists
   * with the same input returns `{ started: false }` and starts nothing.
   */
  start(name: string, input: string): Promise<{ started: boolean }>;
  describe(name: string): Promise<ExecutionRecord | undefined>;
  history(name: string): Promise<ExecutionEvent[]>;
}

/** Latest progress a running stage reported (`progress: N%` lines), 0–100. */
export interface StageProgress {
  latest(jobKind: "processing" | "training", sageMakerJobName: string): Promise<number | undefined>;
}

export interface OutgoingEmail {
  readonly to: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** For logs and idempotency: never log the address itself. */
  readonly jobId: string;
}

export interface Mailer {
  send(message: OutgoingEmail): Promise<{ messageId: string }>;
}
