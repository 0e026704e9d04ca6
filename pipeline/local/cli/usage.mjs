// @ts-check
/**
 * The `spaceport` command's usage: each command's options, its help text and the checks of its
 * arguments. Plain JavaScript with no dependencies on purpose: bin/spaceport runs it on whatever
 * Node the machine has, before any set-up, so `--help` and usage errors answer at once on a
 * fresh clone (set-up can take minutes); the TypeScript CLI parses with the same tables.
 *
 *   node usage.mjs <args>   exit 0: help printed; 2: usage error printed;
 *                           10: valid, needs Node only; 11: valid, needs the full set-up
 */
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

const COMMON_HELP = `  --data-dir DIR      where buckets, job folders, emails and job state live
                      (default: $SPACEPORT_DATA_DIR or .spaceport)
  -h, --help          show this help`;

const RUNTIME_HELP = `  --env NAME          environment whose Pulumi.<NAME>.yaml gives quotas and
                      instance overrides (default: prod)
  --docker            run each stage's Docker image instead of its native entry program
  --pipeline FILE     a TypeScript module exporting the pipeline to run
                      (FILE#name for a named export; default: stages/spaceport.ts)
  --config FILE       environment config file instead of Pulumi.<env>.yaml
  --target FILE       a deployed stack's names (pulumi stack output compileTarget):
                      runs byte for byte the ASL that stack deployed`;

export const HELP = {
  main: `usage: spaceport <command> [options]

Runs the Spaceport pipeline on this machine: the same compiled state machine as on AWS, in
aws-local-stepfunctions, with a local SageMaker that runs each stage's program natively.

commands:
  dev                 local HTTP API (POST /jobs, GET /jobs/{id}) and job runner
  run [zip|folder]    run one job and show its progress (no argument: a generated sample survey)
  jobs                list past and running jobs
  status <id>         one job: stages, progress, failure reason, history
  open <id>           serve a job's delivery and print the viewer URL

Run "spaceport <command> --help" for a command's options.`,
  dev: `usage: spaceport dev [--port N] [--data-dir DIR] [--env NAME] [--docker]

Starts the local API on http://127.0.0.1:<port> with the same routes, handlers and API-key
check as the Lambda functions, and runs submitted jobs. Jobs that were running when an
earlier runtime died are marked failed and their submitters notified.

  --port N            port on 127.0.0.1 (default: the data dir's own port, 8787 at
                      first; 0 picks a free one)
${RUNTIME_HELP}
${COMMON_HELP}

API key: $SPACEPORT_API_KEY, else the one kept in <data-dir>/api-key (printed at start).
Email: SMTP when $SPACEPORT_SMTP_URL is set (smtp://host:port), else .eml files in
<data-dir>/outbox/. Submit a job:
  curl -H "Authorization: Bearer $KEY" -X PUT --data-binary @photos.zip http://127.0.0.1:8787/uploads/photos.zip
  curl -H "Authorization: Bearer $KEY" -H 'content-type: application/json' \\
       -d '{"input":"s3://spaceport-prod-uploads/<key from the upload>","email":"you@example.com"}' http://127.0.0.1:8787/jobs`,
  run: `usage: spaceport run [photos.zip | folder] [--email ADDRESS] [--quality preview|standard|high]
                     [--env NAME] [--data-dir DIR] [--docker] [--port N] [--no-serve] [--verbose]

Runs one job: a ZIP of photos, or a folder of photos (zipped first, into <data-dir>/uploads/).
With no argument it generates the sample survey (python -m samples.survey, into
<data-dir>/samples/survey/, reused when present) and runs that. Shows each stage's state,
progress and elapsed time (redrawn in place on a terminal, plain lines otherwise), then the
viewer URL and a summary. Exit status 0 when the job succeeded, 1 when it failed.

  --email ADDRESS     who is notified (default: $SPACEPORT_EMAIL or you@example.com)
  --quality PRESET    preview | standard | high (default: the pipeline's default, standard)
  --port N            port of the local server (default: the data dir's own port,
                      8787 at first, or a free one when that is taken; the email's
                      links point there)
  --no-serve          exit when the job ends instead of serving the viewer until Ctrl-C
                      (the default on a terminal is to keep serving; elsewhere to exit)
  --verbose           print every log line of the stages
${RUNTIME_HELP}
${COMMON_HELP}`,
  jobs: `usage: spaceport jobs [--data-dir DIR]

Lists past and running jobs, newest first: id, state, current or failed stage, start, duration.

${COMMON_HELP}`,
  status: `usage: spaceport status <job id> [--history] [--data-dir DIR]

One job: state, each stage's SageMaker job, status, progress and duration, the failure reason,
the delivery folder. --history prints the whole execution history (quota waits included).

  --history           print every execution event
${COMMON_HELP}`,
  open: `usage: spaceport open <job id> [--port N] [--data-dir DIR]

Serves the local buckets on http://127.0.0.1:<port> and prints the job's viewer URL; Ctrl-C stops.
By default it listens where the job's emailed links point, so they work again.

  --port N            port on 127.0.0.1 (default: the port of the job's links, else the
                      data dir's own port, 8787 at first; 0 picks a free one)
${COMMON_HELP}`,
};

const readOptions = /** @type {const} */ ({
  "data-dir": { type: "string" },
  help: { type: "boolean", short: "h", default: false },
});

const runtimeOptions = /** @type {const} */ ({
  ...readOptions,
  env: { type: "string", default: "prod" },
  docker: { type: "boolean", default: false },
  pipeline: { type: "string" },
  config: { type: "string" },
  target: { type: "string" },
  port: { type: "string" },
});

/** Each command's options (node:util parseArgs), positional arguments, and the set-up it needs. */
export const COMMANDS = /** @type {const} */ ({
  dev: { options: runtimeOptions, positionals: { min: 0, max: 0, name: "" }, setup: "full" },
  run: {
    options: {
      ...runtimeOptions,
      email: { type: "string" },
      quality: { type: "string" },
      serve: { type: "boolean" },
      "no-serve": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
    positionals: { min: 0, max: 1, name: "one ZIP or folder" },
    setup: "full",
  },
  jobs: { options: readOptions, positionals: { min: 0, max: 0, name: "" }, setup: "node" },
  status: { options: { ...readOptions, history: { type: "boolean", default: false } }, positionals: { min: 1, max: 1, name: "a job id" }, setup: "node" },
  open: { options: { ...readOptions, port: { type: "string" } }, positionals: { min: 1, max: 1, name: "a job id" }, setup: "node" },
});

/** @typedef {keyof typeof COMMANDS} Command */
/**
 * @typedef {{ kind: "help", text: string, exit: 0 | 2 }
 *   | { kind: "error", message: string }
 *   | { kind: "ok", command: Command, setup: "node" | "full" }} Usage
 */

/** @param {string} value */
export function checkPort(value) {
  const port = Number(value);
  return Number.isInteger(port) && port >= 0 && port <= 65535 && value.trim() !== "" ? undefined : `--port must be a number from 0 to 65535, got "${value}"`;
}

/**
 * What a command line asks for: a help text, a usage error (with the help), or a valid command.
 * @param {readonly string[]} argv
 * @returns {Usage}
 */
export function checkUsage(argv) {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help" || command === "help") return { kind: "help", text: HELP.main, exit: command ? 0 : 2 };
  if (!Object.hasOwn(COMMANDS, command)) return { kind: "error", message: `unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(", ")}` };
  const name = /** @type {Command} */ (command);
  const spec = COMMANDS[name];
  /** @type {{ values: Record<string, unknown>, positionals: string[] }} */
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    return { kind: "error", message: `${/** @type {Error} */ (error).message}\n\n${HELP[name]}` };
  }
  if (parsed.values["help"]) return { kind: "help", text: HELP[name], exit: 0 };
  const { min, max, name: what } = spec.positionals;
  const count = parsed.positionals.length;
  if (count < min) return { kind: "error", message: `${name} needs ${what}\n\n${HELP[name]}` };
  if (count > max) return { kind: "error", message: max === 0 ? `${name} takes no arguments, got ${count}\n\n${HELP[name]}` : `${name} takes ${what}, got ${count} arguments` };
  const port = parsed.values["port"];
  if (typeof port === "string" && checkPort(port)) return { kind: "error", message: /** @type {string} */ (checkPort(port)) };
  return { kind: "ok", command: name, setup: spec.setup };
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const usage = checkUsage(process.argv.slice(2));
  if (usage.kind === "help") {
    console.log(usage.text);
    process.exit(usage.exit);
  }
  if (usage.kind === "error") {
    console.error(`spaceport: ${usage.message}`);
    process.exit(2);
  }
  process.exit(usage.setup === "node" ? 10 : 11);
}
