/**
 * The TypeScript side of the `spaceport` command's usage (usage.mjs holds the tables and checks):
 * a wrong option or argument ends with exit status 2 and the help.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { checkPort, HELP } from "./usage.mjs";

export { HELP };

export class UsageError extends Error {}

export type Command = "dev" | "run" | "jobs" | "status" | "open";

export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O, command: Command) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP[command]}`);
  }
}

/** A command's `--help`: its text, exit status 0. */
export function help(command: Command): number {
  console.log(HELP[command]);
  return 0;
}

/** The positional job id of `status`/`open`. */
export function jobIdArgument(positionals: readonly string[], command: Command): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`${command} needs a job id\n\n${HELP[command]}`);
  return id;
}

export function portOf(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const problem = checkPort(value);
  if (problem) throw new UsageError(problem);
  return Number(value);
}
