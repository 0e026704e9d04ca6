/**
 * What a typical job of a stage takes: one duration, or one per value of a job option (a
 * training stage's time follows the quality the submitter picks). The cost model, the daily
 * capacity and job-status's progress weights read it through `expectedDuration`, so each
 * reads the same figure for the same choices.
 */
import type { Duration } from "./duration.js";

/** The part of a job option (stage.ts `jobOption`) a duration table needs. */
interface OptionValues<V extends string> {
  readonly name: string;
  readonly values: readonly V[];
  readonly default: V;
}

export interface DurationByOption<V extends string = string> {
  readonly kind: "by-option";
  readonly option: OptionValues<V>;
  readonly durations: Readonly<Record<V, Duration>>;
}

export type ExpectedDuration = Duration | DurationByOption;

/** Job option values by option name, as a submission gives them; an option not given takes its default. */
export type OptionChoices = Readonly<Record<string, string>>;

/**
 * One expected duration per value of `option`: every value must have one (tsc checks it for a
 * typed option; this checks plain-JS callers and stray keys).
 */
export function byOption<V extends string>(option: OptionValues<V>, durations: Readonly<Record<V, Duration>>): DurationByOption<V> {
  const missing = option.values.filter((v) => durations[v] === undefined);
  if (missing.length > 0) throw new Error(`expectedDuration by "${option.name}": no duration for ${missing.map((v) => `"${v}"`).join(", ")}`);
  const extra = Object.keys(durations).filter((k) => !(option.values as readonly string[]).includes(k));
  if (extra.length > 0) throw new Error(`expectedDuration by "${option.name}": ${extra.map((v) => `"${v}"`).join(", ")} is not one of ${option.values.join(", ")}`);
  return Object.freeze({ kind: "by-option", option, durations: Object.freeze({ ...durations }) });
}

/** The stage's expected duration for these choices (its timeout when it declares none). */
export function expectedDuration(stage: { readonly expectedDuration?: ExpectedDuration; readonly timeout: Duration }, choices: OptionChoices = {}): Duration {
  const expected = stage.expectedDuration;
  if (expected === undefined) return stage.timeout;
  if (!("kind" in expected)) return expected;
  const chosen = choices[expected.option.name];
  const value = chosen !== undefined && (expected.option.values as readonly string[]).includes(chosen) ? chosen : expected.option.default;
  return expected.durations[value]!;
}

/** The longest the stage is expected to take whatever the submitter picks (capacity plans for it). */
export function longestExpectedDuration(stage: { readonly expectedDuration?: ExpectedDuration; readonly timeout: Duration }): Duration {
  const expected = stage.expectedDuration;
  if (expected === undefined || !("kind" in expected)) return expectedDuration(stage);
  return Object.values<Duration>(expected.durations).reduce((a, b) => (b.seconds > a.seconds ? b : a));
}
