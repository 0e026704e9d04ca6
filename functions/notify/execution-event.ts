/**
 * notify for endings no Catch sees: an execution timeout, an abort, a `States.Runtime` error.
 * An EventBridge rule on Step Functions' "Execution Status Change" (FAILED, TIMED_OUT,
 * ABORTED; pipeline/pulumi/events.ts) invokes notify with the event. The execution's own
 * input names the job and the submitter; the failure is the execution's error and cause.
 *
 * One email per job: a failure that went through the state machine's Catch was mailed by the
 * "Notify failure" state before the execution ended (FAILED comes after it), and a success
 * mail means the job succeeded whatever ended the execution; either marker makes this a no-op.
 * A retried event finds the marker its own first delivery wrote.
 */
import * as v from "valibot";
import { STATE } from "../../pipeline/compile.js";
import type { FunctionConfig } from "../config.js";
import { redriveCountOf } from "../markers.js";
import type { ExecutionEvent } from "../ports.js";
import { notify, type NotifyDeps, type NotifyResult } from "./handler.js";
import { readNotification } from "./state.js";

export const EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change";

const ExecutionEventSchema = v.looseObject({
  source: v.literal("aws.states"),
  "detail-type": v.literal(EXECUTION_STATUS_CHANGE),
  detail: v.looseObject({
    name: v.string(),
    status: v.string(),
    input: v.nullish(v.string()),
    error: v.nullish(v.string()),
    cause: v.nullish(v.string()),
  }),
});

export function isExecutionStatusChange(event: unknown): boolean {
  const e = event as { source?: unknown; "detail-type"?: unknown } | null;
  return typeof e === "object" && e !== null && e.source === "aws.states" && e["detail-type"] === EXECUTION_STATUS_CHANGE;
}

/** What the job's submitter is told when Step Functions itself ended the execution. */
function endingError(status: string, error: string | null | undefined): string {
  if (error) return error;
  if (status === "TIMED_OUT") return "States.Timeout";
  if (status === "ABORTED") return "ExecutionAborted";
  return "States.Runtime";
}

const ENDING_CAUSE: Record<string, string> = {
  TIMED_OUT: "the job ran past its overall time limit (including the wait for a free instance) and was stopped",
  ABORTED: "the job was stopped by an operator before it finished",
};

export async function notifyExecutionEnded(event: unknown, deps: NotifyDeps, config: FunctionConfig): Promise<NotifyResult | undefined> {
  const parsed = v.safeParse(ExecutionEventSchema, event);
  if (!parsed.success) throw new Error(`invalid execution status event: ${v.getDotPath(parsed.issues[0]!) ?? "event"}: ${parsed.issues[0]!.message}`);
  const { detail } = parsed.output;
  if (detail.status === "SUCCEEDED" || detail.status === "RUNNING") return undefined;
  let input: { jobId?: unknown; email?: unknown; options?: unknown };
  try {
    input = JSON.parse(detail.input ?? "{}") as typeof input;
  } catch {
    throw new Error(`execution ${detail.name}: its input is not JSON`);
  }
  const jobId = typeof input.jobId === "string" ? input.jobId : detail.name;
  const events = await historyOf(deps, jobId);
  // A retried job (redriven) is a new round: its own notifications (../markers.ts).
  const round = redriveCountOf(events);
  for (const status of ["failed", "succeeded"] as const) {
    // Sent already (a "retrying" or "failed" record is a notification still owed: send it).
    if ((await readNotification(deps.store, config.processingBucket, jobId, status, round))?.state === "sent") {
      deps.log("info", "notify_already_sent", { jobId, status, via: "execution-event" });
      return { jobId, status: "failed", sent: false };
    }
  }
  const stage = runningStage(events);
  const error = endingError(detail.status, detail.error);
  return notify(
    {
      jobId,
      email: input.email,
      options: input.options ?? {},
      status: "failed",
      redriveCount: round,
      failure: { ...(stage ? { stage } : {}), error: { Error: error, Cause: detail.cause ?? ENDING_CAUSE[detail.status] ?? "" } },
    },
    deps,
    config,
  );
}

/** The execution's history, if readable (empty otherwise: round 0, no stage named). */
async function historyOf(deps: NotifyDeps, jobId: string): Promise<readonly ExecutionEvent[]> {
  if (!deps.executions) return [];
  try {
    return await deps.executions.history(jobId);
  } catch (error) {
    deps.log("warn", "notify_history_unavailable", { jobId, message: String((error as Error)?.message ?? error) });
    return [];
  }
}

/** The stage whose "Run" state was entered last. */
function runningStage(events: readonly ExecutionEvent[]): string | undefined {
  const prefix = STATE.run("");
  const last = [...events].reverse().find((e) => e.type === "TaskStateEntered" && e.stateName?.startsWith(prefix));
  return last?.stateName?.slice(prefix.length);
}
