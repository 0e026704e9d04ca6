/**
 * The local `Executions` port: runs the compiled state machine (its exact JSON) in
 * aws-local-stepfunctions, one run per execution name, and records every execution and its
 * history in the job store with Step Functions' event names. Also the local `StageProgress`.
 */
import { StateMachine, type RunOptions } from "aws-local-stepfunctions";
import type { ExecutionEvent, ExecutionRecord, Executions, StageProgress } from "../../functions/ports.js";
import type { ProcessIdentity } from "./process.js";
import type { JobStore } from "./store.js";

type Json = Parameters<StateMachine["run"]>[0];
export type TaskHandler = (input: Json) => Promise<Json>;
type RetryOverrides = NonNullable<NonNullable<RunOptions["overrides"]>["retryIntervalOverrides"]>;

export interface LocalExecutionsOptions {
  readonly store: JobStore;
  /** The compiled definition, exactly as deployed (`compile(...).definitionJson`). */
  readonly definitionJson: string;
  /** Local handler per Task state name. Every Task state must have one. */
  readonly handlers: Readonly<Record<string, TaskHandler>>;
  /** Milliseconds per retrier, per state (the local stand-in for IntervalSeconds/backoff). */
  readonly retryIntervalOverrides?: RetryOverrides;
  /** Milliseconds per Wait state (the local stand-in for its Seconds). */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  /**
   * Called when states of an execution stop without finishing: a Parallel state failed (its
   * other branches are stopped) or the execution was stopped. The SageMaker jobs those states
   * waited on are the caller's to stop, as Step Functions stops a stopped `.sync` task's job.
   */
  readonly onStopped?: (execution: string) => void;
  readonly owner: ProcessIdentity;
  /** Called after each event is stored (live displays). */
  readonly onEvent?: (execution: string, event: ExecutionEvent) => void;
}

export class ExecutionAlreadyExists extends Error {
  override readonly name = "ExecutionAlreadyExists";
}
export class ExecutionDoesNotExist extends Error {
  override readonly name = "ExecutionDoesNotExist";
}
export class ExecutionNotRedrivable extends Error {
  override readonly name = "ExecutionNotRedrivable";
}

/** Step Functions accepts 1–80 characters of these. */
const EXECUTION_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export function assertNode22(): void {
  // aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22): on older Node every Task
  // throws a TypeError, which Catch then silently routes to the failure branch.
  if (typeof (Promise as unknown as { withResolvers?: unknown }).withResolvers !== "function") {
    throw new Error(`the local runtime needs Node 22 or newer (this is ${process.version}); run it through bin/spaceport or: source scripts/env.sh && ensure_node`);
  }
}

export class LocalExecutions implements Executions, StageProgress {
  /** Exactly the string this runtime executes. */
  readonly definitionJson: string;
  private readonly machine: StateMachine;
  private readonly active = new Map<string, { abort: () => void; done: Promise<void> }>();
  private closing = false;

  constructor(private readonly options: LocalExecutionsOptions) {
    assertNode22();
    this.definitionJson = options.definitionJson;
    const definition = JSON.parse(options.definitionJson) as ConstructorParameters<typeof StateMachine>[0];
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type === "Task" && !options.handlers[name]) throw new Error(`no local handler for Task state "${name}"`);
    }
    this.machine = new StateMachine(definition);
  }

  async start(name: string, input: string): Promise<{ started: boolean }> {
    if (this.closing) throw new Error("the local runtime is stopping: no new executions");
    if (!EXECUTION_NAME.test(name)) throw new Error(`invalid execution name ${JSON.stringify(name)}`);
    const parsed = JSON.parse(input) as Json;
    const startDate = new Date();
    const { inserted, existing } = this.options.store.insertExecution(name, input, startDate, this.options.owner);
    if (!inserted) {
      if (existing!.input === input) return { started: false };
      throw new ExecutionAlreadyExists(`Execution Already Exists: '${name}' was started with a different input`);
    }
    this.record(name, { timestamp: startDate, type: "ExecutionStarted", json: input });
    this.launch(name, this.machine, parsed, { Id: name, Name: name, Input: parsed, StartTime: startDate.toISOString(), RedriveCount: 0 });
    return { started: true };
  }

  /**
   * RedriveExecution: an execution that failed, was aborted or timed out runs again from the
   * state that did not finish, with the input that state had, in the same history (an
   * `ExecutionRedriven` event) and with `$$.Execution.RedriveCount` one higher. States that
   * finished are not run again.
   */
  async redrive(name: string): Promise<{ redriveCount: number }> {
    if (this.closing) throw new Error("the local runtime is stopping: no redrives");
    const row = this.options.store.getExecution(name);
    if (!row) throw new ExecutionDoesNotExist(`Execution Does Not Exist: '${name}'`);
    if (row.status === "RUNNING" || row.status === "SUCCEEDED") throw new ExecutionNotRedrivable(`Execution is ${row.status} and cannot be redriven`);
    const history = this.options.store.history(name);
    const from = history.findLast((e) => e.type.endsWith("StateEntered") && e.stateName !== undefined);
    if (!from?.stateName) throw new ExecutionNotRedrivable("the execution never entered a state");
    const redriveCount = history.filter((e) => e.type === "ExecutionRedriven").length + 1;
    if (!this.options.store.reopenExecution(name, this.options.owner)) throw new ExecutionNotRedrivable(`Execution '${name}' is not in a redrivable state`);
    const at = new Date();
    this.record(name, { timestamp: at, type: "ExecutionRedriven", json: JSON.stringify({ redriveCount, from: from.stateName }) });
    // The same states (validated when this runtime started), entered at the one that did not finish.
    const definition = JSON.parse(this.definitionJson) as ConstructorParameters<typeof StateMachine>[0];
    const machine = new StateMachine({ ...definition, StartAt: from.stateName }, { validationOptions: { noValidate: true } });
    const input = JSON.parse(from.json ?? row.input) as Json;
    this.launch(name, machine, input, { Id: name, Name: name, Input: JSON.parse(row.input) as Json, StartTime: row.startDate.toISOString(), RedriveCount: redriveCount, RedriveTime: at.toISOString() });
    return { redriveCount };
  }

  private launch(name: string, machine: StateMachine, input: Json, context: Record<string, unknown>): void {
    const execution = machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: this.options.handlers as Record<string, (input: Json) => Promise<Json>>,
        ...(this.options.retryIntervalOverrides ? { retryIntervalOverrides: this.options.retryIntervalOverrides } : {}),
        ...(this.options.waitTimeOverrides ? { waitTimeOverrides: { ...this.options.waitTimeOverrides } } : {}),
      },
      noThrowOnAbort: true,
      context: { Execution: context },
    });
    const done = this.follow(name, execution).catch((error: unknown) => {
      // The store could not record (disk full, database locked too long): say so, keep serving.
      process.stderr.write(`spaceport: could not record execution ${name}: ${(error as Error)?.message ?? String(error)}\n`);
    });
    this.active.set(name, { abort: execution.abort, done });
    void done.finally(() => this.active.delete(name));
  }

  async describe(name: string): Promise<ExecutionRecord | undefined> {
    const row = this.options.store.getExecution(name);
    if (!row) return undefined;
    const { owner: _owner, ...record } = row;
    return record;
  }

  async history(name: string): Promise<ExecutionEvent[]> {
    return this.options.store.history(name);
  }

  async latest(_jobKind: "processing" | "training", sageMakerJobName: string): Promise<number | undefined> {
    return this.options.store.getProgress(sageMakerJobName)?.percent;
  }

  /** Resolves when the execution ends (at once when it is not running here). */
  async wait(name: string): Promise<ExecutionRecord | undefined> {
    await this.active.get(name)?.done;
    return this.describe(name);
  }

  /**
   * Stops one execution running here, as Step Functions' StopExecution does: ABORTED, and no
   * further state (Catch, notify) runs. The Task it was waiting on is the caller's to stop.
   */
  async stop(name: string): Promise<void> {
    const run = this.active.get(name);
    if (!run) return;
    run.abort();
    await run.done;
    this.options.onStopped?.(name);
  }

  get running(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Stops the state machines running here and stops recording them: they stay RUNNING in the
   * store for the runtime's recovery to fail and notify (LocalRuntime.close).
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const run of this.active.values()) run.abort();
    await Promise.allSettled([...this.active.values()].map((r) => r.done));
  }

  private record(name: string, event: Omit<ExecutionEvent, "id">): void {
    const stored = this.options.store.appendEvent(name, event);
    this.options.onEvent?.(name, stored);
  }

  /** Stores the library's event log under Step Functions' names, then the outcome. */
  private async follow(name: string, execution: ReturnType<StateMachine["run"]>): Promise<void> {
    const result = execution.result.then(
      (output) => ({ ok: true as const, output }),
      (error: unknown) => ({ ok: false as const, error: error as Error }),
    );
    let ended = false;
    try {
      for await (const event of execution.eventLogs) {
        if (this.closing) return;
        const at = new Date(event.timestamp);
        switch (event.type) {
          case "ExecutionStarted":
            break; // recorded by start(), before the first state runs
          case "StateEntered":
            this.record(name, { timestamp: at, type: `${event.state.type}StateEntered`, stateName: event.state.name, json: JSON.stringify(event.state.input) });
            if (event.state.type === "Task") this.record(name, { timestamp: at, type: "TaskScheduled", stateName: event.state.name });
            break;
          case "StateExited":
            if (event.state.type === "Task") this.record(name, { timestamp: at, type: "TaskSucceeded", stateName: event.state.name });
            this.record(name, { timestamp: at, type: `${event.state.type}StateExited`, stateName: event.state.name, json: JSON.stringify(event.state.output ?? null) });
            break;
          case "StateFailed": {
            const type =
              event.state.type !== "Task"
                ? `${event.state.type}StateFailed`
                : event.Error === "States.Timeout"
                  ? "TaskTimedOut"
                  : event.Error.startsWith("SageMaker.")
                    ? "TaskSubmitFailed" // the job was never created (quota, validation)
                    : "TaskFailed";
            this.record(name, { timestamp: at, type, stateName: event.state.name, error: event.Error, cause: causeText(event.Cause) });
            if (event.state.type === "Parallel") this.options.onStopped?.(name);
            break;
          }
          case "StateRetried":
            this.record(name, { timestamp: at, type: "TaskScheduled", stateName: event.state.name, json: JSON.stringify({ retryAttempt: event.retry.attempt, retrier: event.retry.retrier.ErrorEquals }) });
            break;
          case "ExecutionSucceeded":
            this.record(name, { timestamp: at, type: "ExecutionSucceeded", json: JSON.stringify(event.output) });
            this.options.store.finishExecution(name, "SUCCEEDED", at, { output: JSON.stringify(event.output) });
            ended = true;
            break;
          case "ExecutionFailed":
            this.record(name, { timestamp: at, type: "ExecutionFailed", error: event.Error, cause: causeText(event.Cause) });
            this.options.store.finishExecution(name, "FAILED", at, { error: event.Error, cause: causeText(event.Cause) });
            ended = true;
            break;
          case "ExecutionAborted":
            this.record(name, { timestamp: at, type: "ExecutionAborted" });
            this.options.store.finishExecution(name, "ABORTED", at, {});
            ended = true;
            break;
          case "ExecutionTimeout":
            this.record(name, { timestamp: at, type: "ExecutionTimedOut" });
            this.options.store.finishExecution(name, "TIMED_OUT", at, { error: "States.Timeout", cause: "the execution ran longer than the state machine's TimeoutSeconds" });
            ended = true;
            break;
          default:
            break;
        }
      }
    } catch (error) {
      if (!isClosedStore(error)) throw error;
      return;
    }
    const outcome = await result;
    if (ended || this.closing) return;
    // The event log ended without an outcome event: record the result itself.
    const at = new Date();
    try {
      if (outcome.ok) this.options.store.finishExecution(name, "SUCCEEDED", at, { output: JSON.stringify(outcome.output) });
      else this.options.store.finishExecution(name, "FAILED", at, { error: outcome.error.name, cause: outcome.error.message });
    } catch (error) {
      if (!isClosedStore(error)) throw error;
    }
  }
}

function causeText(cause: unknown): string {
  if (cause === undefined || cause === null) return "";
  return typeof cause === "string" ? cause : JSON.stringify(cause);
}

function isClosedStore(error: unknown): boolean {
  return error instanceof Error && /database (connection )?is not open/i.test(error.message);
}
