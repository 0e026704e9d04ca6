/**
 * Reading a stage's output the way SageMaker does: progress lines and metrics from its log
 * as it runs, and afterwards the reason it failed (its failure file, else what its log says).
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { FAILURE_FILES, PROGRESS_LINE, truncateReason } from "../../stage-contract.js";
import { exitReason } from "./exit-reason.js";
import type { Metric, RunOutcome } from "./job-spec.js";

/** How many of a process's last lines a failure reason may quote. */
const TAIL_LINES = 5;

/** Progress and metrics from each log line, and the last few lines for a failure reason. */
export class LogReader {
  readonly lastLines: string[] = [];
  readonly metrics = new Map<string, number>();
  private readonly patterns: { name: string; regex: RegExp }[];

  constructor(metricDefinitions: readonly Metric[]) {
    this.patterns = metricDefinitions.map((m) => ({ name: m.Name, regex: new RegExp(m.Regex) }));
  }

  /** Reads one line; answers its progress report, if it is one. */
  read(line: string): { percent: number; what: string } | undefined {
    this.lastLines.push(line);
    if (this.lastLines.length > TAIL_LINES) this.lastLines.shift();
    for (const metric of this.patterns) {
      const match = metric.regex.exec(line);
      if (match?.[1] !== undefined && Number.isFinite(Number(match[1]))) this.metrics.set(metric.name, Number(match[1]));
    }
    const progress = PROGRESS_LINE.exec(line);
    if (!progress) return undefined;
    return { percent: Math.min(100, Math.max(0, Number(progress[1]))), what: progress[2]!.trim() };
  }
}

/** A stage's failure file (`/opt/ml/output/<name>`), trimmed; undefined when missing or empty. */
export function readReason(optMl: string, name: (typeof FAILURE_FILES)[number]): string | undefined {
  const path = join(optMl, "output", name);
  try {
    if (!statSync(path).isFile()) return undefined;
    const text = readFileSync(path, "utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

/** SageMaker's FailureReason for a job that did not succeed. */
export function failureReason(stage: string, outcome: RunOutcome, optMl: string, maxRuntime: number | undefined): string {
  if (outcome.timedOut) {
    return truncateReason(`stage ${stage} ran longer than its time limit of ${maxRuntime} s (MaxRuntimeInSeconds) and was stopped`);
  }
  if (outcome.clientError) return truncateReason(`ClientError: ${outcome.clientError}`);
  const written = FAILURE_FILES.map((name) => readReason(optMl, name)).find((text) => text !== undefined);
  if (written) return truncateReason(`AlgorithmError: ${written}`);
  return truncateReason(`AlgorithmError: ${exitReason(stage, outcome, outcome.lastLines, missingDependencyHint(outcome.lastLines))}`);
}

/** Turns the usual "not installed" messages of a log into a reason with the install command. */
export function missingDependencyHint(lines: readonly string[]): string | undefined {
  for (const line of lines) {
    const python = /ModuleNotFoundError: No module named '([^']+)'/.exec(line);
    if (python) return `the Python module "${python[1]}" is not installed; install the stage's dependencies with: source scripts/env.sh && ensure_python`;
    const node = /Cannot find (?:module|package) '([^']+)'/.exec(line);
    if (node) return `the Node package "${node[1]}" is not installed; install it with: source scripts/env.sh && ensure_node_modules`;
    const command = /(?:^|: )([\w.+-]+): (?:command )?not found/.exec(line);
    if (command) return `the program "${command[1]}" is not installed (see the stage's images/<stage>/install.sh)`;
  }
  return undefined;
}
