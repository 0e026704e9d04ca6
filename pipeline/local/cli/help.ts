/**
 * The `spaceport` command's help texts (docs/local-runs.md documents the same options) and the
 * usage errors of its commands: a wrong option or argument ends with exit status 2 and the help.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

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

export const HELP: Record<string, string> = {
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

  --port N            port on 127.0.0.1 (default 8787; 0 picks a free one)
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
  --port N            port of the local server (default 8787, or a free one when
                      8787 is taken)
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

  --port N            port on 127.0.0.1 (default 8787; 0 picks a free one)
${COMMON_HELP}`,
};

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
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${value}"`);
  return port;
}
