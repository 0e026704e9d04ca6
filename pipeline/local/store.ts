/**
 * Job state of the local runtime, in SQLite (sqlite.ts): executions, their history,
 * SageMaker jobs and the latest progress of each. Survives restarts; several processes may
 * share one data directory (SQLite's locking), each owning the executions it runs.
 */
import { openDatabase, type SqliteDatabase } from "./sqlite.js";
import type { ExecutionEvent, ExecutionRecord, ExecutionStatus } from "../../functions/ports.js";
import type { ProcessIdentity } from "./process.js";

export type SageMakerJobStatus = "InProgress" | "Completed" | "Failed" | "Stopped";

export interface SageMakerJobRow {
  readonly name: string;
  readonly kind: "processing" | "training";
  readonly stage: string;
  readonly execution: string;
  readonly status: SageMakerJobStatus;
  readonly instanceType: string;
  readonly instanceCount: number;
  readonly created: Date;
  readonly ended?: Date;
  /** The Describe* answer once the job ended. */
  readonly describe?: unknown;
  readonly pid?: number;
  readonly owner: ProcessIdentity;
}

export interface ExecutionRow extends ExecutionRecord {
  readonly owner: ProcessIdentity;
}

export interface PendingNotificationRow {
  readonly execution: string;
  /** The notify payload (JSON). */
  readonly payload: string;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly next: Date;
}

export interface ProgressRow {
  readonly jobName: string;
  readonly kind: "processing" | "training";
  readonly percent: number;
  readonly what: string;
  readonly updated: Date;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS executions (
  name TEXT PRIMARY KEY, status TEXT NOT NULL, input TEXT NOT NULL, start_ms INTEGER NOT NULL, stop_ms INTEGER,
  output TEXT, error TEXT, cause TEXT, owner_pid INTEGER NOT NULL, owner_start TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  execution TEXT NOT NULL, id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, type TEXT NOT NULL, state_name TEXT,
  error TEXT, cause TEXT, json TEXT, PRIMARY KEY (execution, id)
);
CREATE TABLE IF NOT EXISTS sagemaker_jobs (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, stage TEXT NOT NULL, execution TEXT NOT NULL, status TEXT NOT NULL,
  instance_type TEXT NOT NULL, instance_count INTEGER NOT NULL, created_ms INTEGER NOT NULL, ended_ms INTEGER,
  describe TEXT, pid INTEGER, owner_pid INTEGER NOT NULL, owner_start TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quota_waiters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, instance_type TEXT NOT NULL,
  execution TEXT NOT NULL, seen_ms INTEGER NOT NULL, owner_pid INTEGER NOT NULL, owner_start TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_notifications (
  execution TEXT PRIMARY KEY, payload TEXT NOT NULL, attempts INTEGER NOT NULL, next_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
  job_name TEXT PRIMARY KEY, kind TEXT NOT NULL, percent REAL NOT NULL, what TEXT NOT NULL, updated_ms INTEGER NOT NULL
);
`;

type Row = Record<string, unknown>;
const opt = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

function toExecution(row: Row): ExecutionRow {
  const stop = opt(row["stop_ms"] as number | null);
  const output = opt(row["output"] as string | null);
  const error = opt(row["error"] as string | null);
  const cause = opt(row["cause"] as string | null);
  return {
    name: row["name"] as string,
    status: row["status"] as ExecutionStatus,
    input: row["input"] as string,
    startDate: new Date(row["start_ms"] as number),
    ...(stop !== undefined ? { stopDate: new Date(stop) } : {}),
    ...(output !== undefined ? { output } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(cause !== undefined ? { cause } : {}),
    owner: { pid: row["owner_pid"] as number, start: row["owner_start"] as string },
  };
}

function toJob(row: Row): SageMakerJobRow {
  const ended = opt(row["ended_ms"] as number | null);
  const describe = opt(row["describe"] as string | null);
  const pid = opt(row["pid"] as number | null);
  return {
    name: row["name"] as string,
    kind: row["kind"] as "processing" | "training",
    stage: row["stage"] as string,
    execution: row["execution"] as string,
    status: row["status"] as SageMakerJobStatus,
    instanceType: row["instance_type"] as string,
    instanceCount: row["instance_count"] as number,
    created: new Date(row["created_ms"] as number),
    ...(ended !== undefined ? { ended: new Date(ended) } : {}),
    ...(describe !== undefined ? { describe: JSON.parse(describe) as unknown } : {}),
    ...(pid !== undefined ? { pid } : {}),
    owner: { pid: row["owner_pid"] as number, start: row["owner_start"] as string },
  };
}

export class JobStore {
  private readonly db: SqliteDatabase;

  constructor(path: string) {
    this.db = openDatabase(path);
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec(SCHEMA);
  }

  get driver(): string {
    return this.db.driver;
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  /** One write transaction (BEGIN IMMEDIATE: other processes wait for it). */
  private transaction<T>(work: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      this.db.exec("COMMIT");
      return result;
    } catch (error) {
      this.db.exec("ROLLBACK");
      throw error;
    }
  }

  // --- executions -------------------------------------------------------------------------

  /** Inserts a new RUNNING execution; returns the existing one instead when the name is taken. */
  insertExecution(name: string, input: string, start: Date, owner: ProcessIdentity): { inserted: boolean; existing?: ExecutionRow } {
    return this.transaction(() => {
      const existing = this.getExecution(name);
      if (existing) return { inserted: false, existing };
      this.db
        .prepare("INSERT INTO executions (name, status, input, start_ms, owner_pid, owner_start) VALUES (?, 'RUNNING', ?, ?, ?, ?)")
        .run(name, input, start.getTime(), owner.pid, owner.start);
      return { inserted: true };
    });
  }

  getExecution(name: string): ExecutionRow | undefined {
    const row = this.db.prepare("SELECT * FROM executions WHERE name = ?").get(name) as Row | undefined;
    return row ? toExecution(row) : undefined;
  }

  listExecutions(limit = 100): ExecutionRow[] {
    return (this.db.prepare("SELECT * FROM executions ORDER BY start_ms DESC, name DESC LIMIT ?").all(limit) as Row[]).map(toExecution);
  }

  runningExecutions(): ExecutionRow[] {
    return (this.db.prepare("SELECT * FROM executions WHERE status = 'RUNNING'").all() as Row[]).map(toExecution);
  }

  /** Ends a RUNNING execution; false when it had already ended (the first ending wins). */
  finishExecution(name: string, status: Exclude<ExecutionStatus, "RUNNING">, stop: Date, fields: { output?: string; error?: string; cause?: string }): boolean {
    const result = this.db
      .prepare("UPDATE executions SET status = ?, stop_ms = ?, output = ?, error = ?, cause = ? WHERE name = ? AND status = 'RUNNING'")
      .run(status, stop.getTime(), fields.output ?? null, fields.error ?? null, fields.cause ?? null, name);
    return Number(result.changes) === 1;
  }

  /** A redrive: the ended execution runs again (same name and history), owned by this process. */
  reopenExecution(name: string, owner: ProcessIdentity): boolean {
    const result = this.db
      .prepare("UPDATE executions SET status = 'RUNNING', stop_ms = NULL, output = NULL, error = NULL, cause = NULL, owner_pid = ?, owner_start = ? WHERE name = ? AND status IN ('FAILED', 'ABORTED', 'TIMED_OUT')")
      .run(owner.pid, owner.start, name);
    return Number(result.changes) === 1;
  }

  // --- history ----------------------------------------------------------------------------

  appendEvent(execution: string, event: Omit<ExecutionEvent, "id">): ExecutionEvent {
    return this.transaction(() => {
      const last = this.db.prepare("SELECT MAX(id) AS id FROM events WHERE execution = ?").get(execution) as { id: number | null };
      const id = (last.id ?? 0) + 1;
      this.db
        .prepare("INSERT INTO events (execution, id, ts_ms, type, state_name, error, cause, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(execution, id, event.timestamp.getTime(), event.type, event.stateName ?? null, event.error ?? null, event.cause ?? null, event.json ?? null);
      return { id, ...event };
    });
  }

  history(execution: string): ExecutionEvent[] {
    const rows = this.db.prepare("SELECT * FROM events WHERE execution = ? ORDER BY id").all(execution) as Row[];
    return rows.map((row) => {
      const stateName = opt(row["state_name"] as string | null);
      const error = opt(row["error"] as string | null);
      const cause = opt(row["cause"] as string | null);
      const json = opt(row["json"] as string | null);
      return {
        id: row["id"] as number,
        timestamp: new Date(row["ts_ms"] as number),
        type: row["type"] as string,
        ...(stateName !== undefined ? { stateName } : {}),
        ...(error !== undefined ? { error } : {}),
        ...(cause !== undefined ? { cause } : {}),
        ...(json !== undefined ? { json } : {}),
      };
    });
  }

  // --- SageMaker jobs ---------------------------------------------------------------------

  /**
   * Creates a job if the quota allows: counts InProgress instances of the same type and job
   * kind (in every process sharing this data directory) in one write transaction. Jobs that
   * find the quota in use queue first come, first served (`quota_waiters`): a job is created only
   * when no live job of the same type and kind has waited longer. A waiter is live while its
   * process is (`isLive`), its execution runs, and it asked within `staleMs`.
   */
  createSageMakerJob(
    job: Omit<SageMakerJobRow, "status" | "ended" | "describe" | "pid">,
    quota: number,
    queue: { readonly isLive: (owner: ProcessIdentity) => boolean; readonly staleMs: number } = { isLive: () => true, staleMs: 60_000 },
  ): { created: true } | { created: false; reason: "exists" } | { created: false; reason: "quota"; inUse: number } {
    return this.transaction(() => {
      if (this.db.prepare("SELECT 1 FROM sagemaker_jobs WHERE name = ?").get(job.name)) return { created: false as const, reason: "exists" as const };
      const used = this.db
        .prepare("SELECT COALESCE(SUM(instance_count), 0) AS n FROM sagemaker_jobs WHERE status = 'InProgress' AND instance_type = ? AND kind = ?")
        .get(job.instanceType, job.kind) as { n: number };
      const ahead = this.waitersAhead(job, queue);
      if (ahead > 0 || used.n + job.instanceCount > quota) {
        this.db
          .prepare(
            "INSERT INTO quota_waiters (name, kind, instance_type, execution, seen_ms, owner_pid, owner_start) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET seen_ms = excluded.seen_ms",
          )
          .run(job.name, job.kind, job.instanceType, job.execution, Date.now(), job.owner.pid, job.owner.start);
        return { created: false as const, reason: "quota" as const, inUse: used.n };
      }
      this.db.prepare("DELETE FROM quota_waiters WHERE name = ?").run(job.name);
      this.db
        .prepare(
          "INSERT INTO sagemaker_jobs (name, kind, stage, execution, status, instance_type, instance_count, created_ms, owner_pid, owner_start) VALUES (?, ?, ?, ?, 'InProgress', ?, ?, ?, ?, ?)",
        )
        .run(job.name, job.kind, job.stage, job.execution, job.instanceType, job.instanceCount, job.created.getTime(), job.owner.pid, job.owner.start);
      return { created: true as const };
    });
  }

  /** Live waiters queued before `job` for the same instance type and kind; dead ones are dropped. */
  private waitersAhead(job: { name: string; kind: string; instanceType: string }, queue: { isLive: (owner: ProcessIdentity) => boolean; staleMs: number }): number {
    const mine = this.db.prepare("SELECT seq FROM quota_waiters WHERE name = ?").get(job.name) as { seq: number } | undefined;
    const rows = this.db
      .prepare(
        "SELECT w.seq, w.seen_ms, w.owner_pid, w.owner_start, e.status FROM quota_waiters w LEFT JOIN executions e ON e.name = w.execution " +
          "WHERE w.kind = ? AND w.instance_type = ? AND w.seq < ? ORDER BY w.seq",
      )
      .all(job.kind, job.instanceType, mine?.seq ?? Number.MAX_SAFE_INTEGER) as Row[];
    let ahead = 0;
    for (const row of rows) {
      const owner = { pid: row["owner_pid"] as number, start: row["owner_start"] as string };
      const running = row["status"] === null || row["status"] === undefined || row["status"] === "RUNNING";
      if (running && Date.now() - (row["seen_ms"] as number) <= queue.staleMs && queue.isLive(owner)) ahead++;
      else this.db.prepare("DELETE FROM quota_waiters WHERE seq = ?").run(row["seq"]);
    }
    return ahead;
  }

  setSageMakerJobPid(name: string, pid: number): void {
    this.db.prepare("UPDATE sagemaker_jobs SET pid = ? WHERE name = ?").run(pid, name);
  }

  finishSageMakerJob(name: string, status: Exclude<SageMakerJobStatus, "InProgress">, ended: Date, describe: unknown): void {
    this.db
      .prepare("UPDATE sagemaker_jobs SET status = ?, ended_ms = ?, describe = ? WHERE name = ? AND status = 'InProgress'")
      .run(status, ended.getTime(), JSON.stringify(describe), name);
  }

  getSageMakerJob(name: string): SageMakerJobRow | undefined {
    const row = this.db.prepare("SELECT * FROM sagemaker_jobs WHERE name = ?").get(name) as Row | undefined;
    return row ? toJob(row) : undefined;
  }

  sageMakerJobsOf(execution: string): SageMakerJobRow[] {
    return (this.db.prepare("SELECT * FROM sagemaker_jobs WHERE execution = ? ORDER BY created_ms").all(execution) as Row[]).map(toJob);
  }

  runningSageMakerJobs(): SageMakerJobRow[] {
    return (this.db.prepare("SELECT * FROM sagemaker_jobs WHERE status = 'InProgress'").all() as Row[]).map(toJob);
  }

  // --- notifications the runtime sends itself (recovery), until sent or given up ------------

  savePendingNotification(row: PendingNotificationRow): void {
    this.db
      .prepare(
        "INSERT INTO pending_notifications (execution, payload, attempts, next_ms) VALUES (?, ?, ?, ?) ON CONFLICT(execution) DO UPDATE SET payload = excluded.payload, attempts = excluded.attempts, next_ms = excluded.next_ms",
      )
      .run(row.execution, row.payload, row.attempts, row.next.getTime());
  }

  pendingNotifications(): PendingNotificationRow[] {
    return (this.db.prepare("SELECT * FROM pending_notifications ORDER BY next_ms").all() as Row[]).map((row) => ({
      execution: row["execution"] as string,
      payload: row["payload"] as string,
      attempts: row["attempts"] as number,
      next: new Date(row["next_ms"] as number),
    }));
  }

  deletePendingNotification(execution: string): void {
    this.db.prepare("DELETE FROM pending_notifications WHERE execution = ?").run(execution);
  }

  // --- progress ---------------------------------------------------------------------------

  setProgress(jobName: string, kind: "processing" | "training", percent: number, what: string, at: Date): void {
    this.db
      .prepare(
        "INSERT INTO progress (job_name, kind, percent, what, updated_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT(job_name) DO UPDATE SET percent = excluded.percent, what = excluded.what, updated_ms = excluded.updated_ms",
      )
      .run(jobName, kind, percent, what, at.getTime());
  }

  getProgress(jobName: string): ProgressRow | undefined {
    const row = this.db.prepare("SELECT * FROM progress WHERE job_name = ?").get(jobName) as Row | undefined;
    if (!row) return undefined;
    return {
      jobName: row["job_name"] as string,
      kind: row["kind"] as "processing" | "training",
      percent: row["percent"] as number,
      what: row["what"] as string,
      updated: new Date(row["updated_ms"] as number),
    };
  }
}
