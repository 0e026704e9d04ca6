/**
 * The `spaceport` command (bin/spaceport runs this file on Node 22): a composition root, the
 * only place besides index.ts that knows both Spaceport's pipeline and the runtimes. The local
 * runtime's command line gets the pipeline, the handlers and the summary of Spaceport's reports.
 */
import { resolve } from "node:path";
import { handlers } from "../functions/handlers.js";
import { exitWith, runCli, type CliRoot } from "../pipeline/local/cli/main.js";
import { spaceport } from "./spaceport.js";
import { spaceportSummary } from "./summary.js";

export { HELP } from "../pipeline/local/cli/main.js";

export const root: CliRoot = { pipeline: spaceport, handlers, summary: spaceportSummary };

export const main = (argv: string[]): Promise<number> => runCli(argv, root);

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) exitWith(main(process.argv.slice(2)));
