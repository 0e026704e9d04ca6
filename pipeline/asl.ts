/** The subset of the Amazon States Language the compiler emits. */
export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: "FULL" | "NONE";
}

export interface AslCatcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

export interface AslChoiceRule {
  And?: AslChoiceRule[];
  Or?: AslChoiceRule[];
  Not?: AslChoiceRule;
  Variable?: string;
  StringMatches?: string;
  StringEquals?: string;
  NumericLessThan?: number;
  NumericGreaterThan?: number;
  NumericGreaterThanEquals?: number;
  NumericGreaterThanPath?: string;
  IsPresent?: boolean;
  Next?: string;
}

export type AslState =
  | { Type: "Pass"; Comment?: string; InputPath?: string; Parameters?: Record<string, unknown>; Result?: unknown; ResultPath?: string | null; Next?: string; End?: true }
  | { Type: "Parallel"; Comment?: string; Branches: AslBranch[]; OutputPath?: string; Catch?: AslCatcher[]; Next?: string; End?: true }
  | {
      Type: "Task";
      Comment?: string;
      Resource: string;
      Parameters?: Record<string, unknown>;
      ResultSelector?: Record<string, unknown>;
      ResultPath?: string | null;
      TimeoutSeconds?: number;
      HeartbeatSeconds?: number;
      Retry?: AslRetrier[];
      Catch?: AslCatcher[];
      Next?: string;
      End?: true;
    }
  | { Type: "Choice"; Comment?: string; Choices: AslChoiceRule[]; Default?: string }
  | { Type: "Wait"; Comment?: string; Seconds?: number; SecondsPath?: string; Next: string }
  | { Type: "Succeed"; Comment?: string }
  | { Type: "Fail"; Comment?: string; Error?: string; Cause?: string; ErrorPath?: string; CausePath?: string };

/** One branch of a Parallel state: a state machine of its own (its state names unique in the whole machine). */
export interface AslBranch {
  StartAt: string;
  States: Record<string, AslState>;
}

export interface AslStateMachine {
  Comment?: string;
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, AslState>;
}

/** Every state by name, those in Parallel branches too (state names are unique in the whole machine). */
export function allStates(machine: { States: Record<string, AslState> }): Record<string, AslState> {
  const out: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(machine.States)) {
    out[name] = state;
    if (state.Type === "Parallel") for (const branch of state.Branches) Object.assign(out, allStates(branch));
  }
  return out;
}
