/** Executions on AWS Step Functions (SDK v3): execution name = job id. */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  StartExecutionCommand,
  type HistoryEvent,
  type SFNClient,
} from "@aws-sdk/client-sfn";
import type { ExecutionEvent, ExecutionRecord, ExecutionStatus, Executions } from "../../ports.js";

/** `arn:aws:states:r:a:stateMachine:name` → `arn:aws:states:r:a:execution:name:<execution>`. */
export function executionArn(stateMachineArn: string, name: string): string {
  const parts = stateMachineArn.split(":");
  if (parts.length < 7 || parts[5] !== "stateMachine") throw new Error(`not a state machine ARN: ${stateMachineArn}`);
  return [...parts.slice(0, 5), "execution", parts[6], name].join(":");
}

export class StepFunctionsExecutions implements Executions {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: string): Promise<{ started: boolean }> {
    if (await this.describe(name)) return { started: false };
    try {
      await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input }));
      return { started: true };
    } catch (error) {
      // Standard workflows: same name (running, same input) is answered normally; a closed one or
      // different input gives ExecutionAlreadyExists. Either way, nothing new runs.
      if ((error as Error)?.name === "ExecutionAlreadyExists") return { started: false };
      throw error;
    }
  }

  async describe(name: string): Promise<ExecutionRecord | undefined> {
    try {
      const out = await this.sfn.send(new DescribeExecutionCommand({ executionArn: executionArn(this.stateMachineArn, name) }));
      return {
        name: out.name ?? name,
        status: (out.status ?? "RUNNING") as ExecutionStatus,
        startDate: out.startDate ?? new Date(0),
        ...(out.stopDate ? { stopDate: out.stopDate } : {}),
        input: out.input ?? "{}",
        ...(out.output !== undefined ? { output: out.output } : {}),
        ...(out.error !== undefined ? { error: out.error } : {}),
        ...(out.cause !== undefined ? { cause: out.cause } : {}),
      };
    } catch (error) {
      if ((error as Error)?.name === "ExecutionDoesNotExist") return undefined;
      throw error;
    }
  }

  async countRunning(atLeast: number): Promise<number> {
    let count = 0;
    let token: string | undefined;
    do {
      const out = await this.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: this.stateMachineArn, statusFilter: "RUNNING", maxResults: 1000, ...(token ? { nextToken: token } : {}) }),
      );
      count += out.executions?.length ?? 0;
      token = out.nextToken;
    } while (token && count < atLeast);
    return count;
  }

  async history(name: string): Promise<ExecutionEvent[]> {
    const events: ExecutionEvent[] = [];
    let token: string | undefined;
    do {
      const out = await this.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn: executionArn(this.stateMachineArn, name),
          maxResults: 1000,
          includeExecutionData: true,
          ...(token ? { nextToken: token } : {}),
        }),
      );
      for (const event of out.events ?? []) events.push(toExecutionEvent(event));
      token = out.nextToken;
    } while (token);
    return events;
  }
}

export function toExecutionEvent(event: HistoryEvent): ExecutionEvent {
  const entered = event.stateEnteredEventDetails;
  const exited = event.stateExitedEventDetails;
  let error: string | undefined;
  let cause: string | undefined;
  for (const [field, value] of Object.entries(event)) {
    if (!field.endsWith("EventDetails") || typeof value !== "object" || value === null) continue;
    const details = value as { error?: string; cause?: string };
    if (details.error !== undefined) error = details.error;
    if (details.cause !== undefined) cause = details.cause;
  }
  const stateName = entered?.name ?? exited?.name;
  const json = entered?.input ?? exited?.output;
  return {
    id: event.id ?? 0,
    timestamp: event.timestamp ?? new Date(0),
    type: event.type ?? "Unknown",
    ...(stateName !== undefined ? { stateName } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(cause !== undefined ? { cause } : {}),
    ...(json !== undefined ? { json } : {}),
  };
}
