/**
 * Ports: the only way handlers reach the outside world. Each has an AWS adapter (SDK v3)
 * and a local adapter (file system / local Step Functions runner / SMTP or outbox), so the
 * handlers are the same code in Lambda and in `spaceport dev`.
 *
 * Owned by the functions; the local runtime implements `Executions` locally (pipeline/local/).
 * Extend with care: both sides depend on these shapes.
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
  /**
   * Creates the object only if no object has that key (S3 `If-None-Match: *`, a local exclusive
   * create). Returns false, writing nothing, when it already exists. Idempotency records use it,
   * so two concurrent retries of one request cannot both win.
   */
  putTextIfAbsent(bucket: string, key: string, body: string, contentType?: string): Promise<boolean>;
  /**
   * Copies an object only if the target key has no object yet (S3 `If-None-Match: *` on
   * CopyObject, a local hard link). Returns false, writing nothing, when the target exists:
   * concurrent retries of one request copy a job's input once.
   */
  copyIfAbsent(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<boolean>;
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

/**
 * What start-job passes to the state machine (DSL contract): every option present (defaults
 * filled from the pipeline's job options). `client` (the API client name) is extra: the
 * "Start job" state drops it, job-status uses it to show a client only its own jobs.
 */
export interface ExecutionInput {
  readonly jobId: string;
  readonly inputUri: string;
  readonly email: string;
  readonly options: Readonly<Record<string, string>>;
  readonly client?: string;
}

export interface Executions {
  /**
   * Starts the state machine with `name` = job id. Idempotent: starting a name that exists
   * with the same input returns `{ started: false }` and starts nothing.
   */
  start(name: string, input: string): Promise<{ started: boolean }>;
  /** undefined when no execution has that name. */
  describe(name: string): Promise<ExecutionRecord | undefined>;
  /**
   * Events oldest first. Types use Step Functions' names: `<Kind>StateEntered` / `<Kind>StateExited`
   * (Task, Pass, Choice, Succeed, Fail), `TaskSubmitFailed`, `TaskFailed`, `TaskTimedOut`,
   * `ExecutionFailed`, ... job-status only relies on the `StateEntered`/`StateExited` suffixes,
   * `stateName`, and `error`/`cause` of failure events.
   */
  history(name: string): Promise<ExecutionEvent[]>;
  /**
   * Executions now running, counted up to `atLeast` (the caller only needs to know whether
   * there are that many). Optional: without it start-job cannot warn about a long queue.
   */
  countRunning?(atLeast: number): Promise<number>;
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

/** Where a multipart upload writes: the object it becomes and the store's own upload id. */
export interface MultipartTarget {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly size: number;
  readonly etag: string;
}

/**
 * Multipart uploads straight from a browser (S3 multipart + presigned part URLs, or the local
 * server's signed part route). The object exists only after `complete`; `abort` leaves nothing.
 */
export interface MultipartUploads {
  /** Starts an upload of `key`; answers the store's upload id. */
  create(bucket: string, key: string, contentType: string): Promise<string>;
  /** One URL per part number that a browser PUTs that part's bytes to, valid for `expiresSeconds`. */
  partUrls(target: MultipartTarget, partNumbers: readonly number[], expiresSeconds: number): Promise<string[]>;
  /** The parts received so far (by part number); undefined when the upload is unknown, completed or aborted. */
  listParts(target: MultipartTarget): Promise<UploadedPart[] | undefined>;
  /** Joins the parts, in part-number order, into the object. */
  complete(target: MultipartTarget, parts: readonly UploadedPart[]): Promise<void>;
  /** Drops the upload and every part received; unknown uploads are fine. */
  abort(target: MultipartTarget): Promise<void>;
}

/** Stopping a job: its execution and the SageMaker job of the stage that is running. */
export interface JobControl {
  /** Stops a running execution (Step Functions StopExecution: ABORTED, no Catch or notify runs). */
  stopExecution(name: string, cause: string): Promise<void>;
  /**
   * Stops a SageMaker job (StopProcessingJob / StopTrainingJob). False when there was no such
   * job to stop (not created yet); one that has already ended is fine (true).
   */
  stopStageJob(kind: "processing" | "training", jobName: string): Promise<boolean>;
  /** RedriveExecution: reruns a failed, aborted or timed-out execution from the state that did not finish. */
  redrive(name: string): Promise<void>;
}
