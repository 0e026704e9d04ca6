/**
 * `spaceport`: the local runtime's command line, one file per command. The composition root
 * (stages/cli.ts, which bin/spaceport runs on Node 22) calls `runCli` with its pipeline and handlers.
 *   spaceport dev                 local HTTP API + job runner
 *   spaceport run [zip|folder]    one job from the command line, with live progress
 *   spaceport jobs | status <id> | open <id>
 */
import { dev } from "./dev.js";
import { UsageError } from "./help.js";
import { jobs } from "./jobs.js";
import { open } from "./open.js";
import { run } from "./run.js";
import type { CliRoot } from "./start.js";
import { status } from "./status.js";
import { checkUsage } from "./usage.mjs";

export { HELP, UsageError } from "./help.js";
export type { CliRoot } from "./start.js";

export async function runCli(argv: string[], root: CliRoot): Promise<number> {
  // The same checks bin/spaceport makes before any set-up (usage.mjs).
  const usage = checkUsage(argv);
  if (usage.kind === "help") {
    console.log(usage.text);
    return usage.exit;
  }
  if (usage.kind === "error") throw new UsageError(usage.message);
  const rest = argv.slice(1);
  switch (usage.command) {
    case "dev":
      return dev(rest, root);
    case "run":
      return run(rest, root);
    case "jobs":
      return jobs(rest);
    case "status":
      return status(rest, root.summary);
    case "open":
      return open(rest);
  }
}

/** The process around `runCli`: exit status 0/1, 2 for a usage error, the message on stderr. */
export function exitWith(result: Promise<number>): void {
  result.then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        console.error(`spaceport: ${error.message}`);
        process.exit(2);
      }
      console.error(`spaceport: ${(error as Error)?.message ?? String(error)}`);
      process.exit(1);
    },
  );
}
