/**
 * Live progress of one job for `spaceport run`: one line per stage (state, percent, what,
 * elapsed), redrawn in place on a terminal; on anything else, plain lines when something
 * changes (and at most every 10 percentage points).
 */
import type { ExecutionEvent } from "../../functions/ports.js";
import type { Pipeline } from "../define.js";
import { EARLY_STATE } from "../compile-early.js";
import { isPreviewJobName } from "../layout.js";
import type { JobEvent, LogLine, ProgressUpdate, QuotaWait } from "./sagemaker/emulator.js";

type StageState = "pending" | "waiting" | "running" | "completed" | "failed";

interface StageLine {
  state: StageState;
  percent?: number;
  what: string;
  started?: number;
  ended?: number;
  waits: number;
  reported?: number;
}

const SYMBOL: Record<StageState, string> = { pending: "·", waiting: "…", running: "▸", completed: "✓", failed: "✗" };

export class ProgressDisplay {
  private readonly stages = new Map<string, StageLine>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly write: (text: string) => void;

  constructor(
    pipeline: Pipeline,
    private readonly jobId: string,
    private readonly options: { tty: boolean; verbose?: boolean; write?: (text: string) => void },
  ) {
    this.write = options.write ?? ((text) => void process.stdout.write(text));
    for (const stage of pipeline.stages) this.stages.set(stage.name, { state: "pending", what: "", waits: 0 });
    if (options.tty) {
      this.redraw();
      this.timer = setInterval(() => this.redraw(), 500);
      this.timer.unref();
    }
  }

  /** Execution history: quota waits show as "waiting". */
  event(event: ExecutionEvent): void {
    if (event.stateName === EARLY_STATE.notifyPreview && event.type === "TaskStateEntered") {
      this.above("preview delivered: the job's links show a preview made early in training until the final model replaces it (emailed)\n");
    }
    const stage = event.stateName?.startsWith("Run ") ? event.stateName.slice(4) : undefined;
    const line = stage ? this.stages.get(stage) : undefined;
    if (!line || !stage) return;
    if (event.type === "TaskSubmitFailed" && /ResourceLimitExceeded/.test(event.error ?? "")) {
      line.waits++;
      line.started ??= event.timestamp.getTime();
      if (line.state !== "waiting") {
        line.state = "waiting";
        line.what = "waiting for a free instance (quota)";
        this.plain(stage, line.what);
      }
      this.redraw();
    }
  }

  /** The emulator holds a create call for a free instance. */
  waiting(wait: QuotaWait): void {
    const line = this.stages.get(wait.stage);
    if (!line || line.state === "waiting") return;
    line.state = "waiting";
    line.started ??= Date.now();
    line.what = `waiting for a free ${wait.instanceType} (${wait.inUse}/${wait.quota} in use)`;
    this.plain(wait.stage, line.what);
    this.redraw();
  }

  job(job: JobEvent): void {
    // A stage's early run (the preview) beside the training: a line of its own, not the stage's.
    if (isPreviewJobName(job.jobName)) {
      if (job.jobName.startsWith(this.jobId)) this.above(`[${job.stage}] preview ${job.status === "InProgress" ? "started" : job.status.toLowerCase()} (${job.jobName})${job.failureReason ? `: ${job.failureReason}` : ""}\n`);
      return;
    }
    const line = this.stages.get(job.stage);
    if (!line) return;
    const now = Date.now();
    if (job.status === "InProgress") {
      line.state = "running";
      line.started ??= now; // from the first attempt, quota waits included
      line.what = "";
      line.percent = undefined;
      line.ended = undefined;
      this.plain(job.stage, `started (${job.jobName})`);
    } else {
      line.state = job.status === "Completed" ? "completed" : "failed";
      line.ended = now;
      if (job.status === "Completed") line.percent = 100;
      line.what = job.status === "Completed" ? "" : (job.failureReason ?? "failed");
      this.plain(job.stage, `${line.state} after ${elapsed((line.ended ?? now) - (line.started ?? now))}${job.failureReason ? `: ${job.failureReason}` : ""}`);
    }
    this.redraw();
  }

  progress(update: ProgressUpdate): void {
    if (!update.jobName.startsWith(this.jobId) || isPreviewJobName(update.jobName)) return;
    const line = this.stages.get(update.stage);
    if (!line) return;
    line.percent = update.percent;
    line.what = update.what;
    if (!this.options.tty && (line.reported === undefined || update.percent - line.reported >= 10 || update.percent === 100)) {
      line.reported = update.percent;
      this.plain(update.stage, `${formatPercent(update.percent)} ${update.what}`.trimEnd());
    }
  }

  log(line: LogLine): void {
    if (!this.options.verbose) return; // every line is in the job's log.txt anyway
    this.above(`[${line.stage}] ${line.line}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.options.tty) this.redraw();
  }

  private plain(stage: string, text: string): void {
    if (!this.options.tty) this.write(`[${stage}] ${text}\n`);
  }

  /** Prints a line above the live block (terminal) or as is. */
  private above(text: string): void {
    if (!this.options.tty) return this.write(text);
    this.clear();
    this.write(text);
    this.redraw();
  }

  private clear(): void {
    if (this.drawn > 0) this.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private redraw(): void {
    if (!this.options.tty) return;
    const width = Math.max(...[...this.stages.keys()].map((k) => k.length));
    const columns = (process.stdout.columns ?? 0) >= 40 ? process.stdout.columns : 100;
    const now = Date.now();
    const lines = [...this.stages].map(([name, s]) => {
      const time = s.started ? elapsed((s.ended ?? now) - s.started) : "";
      const percent = s.percent !== undefined ? formatPercent(s.percent) : "";
      const text = `${SYMBOL[s.state]} ${name.padEnd(width)}  ${s.state.padEnd(9)} ${percent.padStart(5)} ${time.padStart(6)}  ${s.what}`;
      return text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text;
    });
    this.clear();
    this.write(lines.join("\n") + "\n");
    this.drawn = lines.length;
  }
}

const formatPercent = (p: number) => `${p % 1 === 0 ? p : p.toFixed(1)}%`;

function elapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
