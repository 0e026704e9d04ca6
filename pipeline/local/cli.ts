/**
 * `spaceport`: the local runtime's command line (bin/spaceport runs it on Node 22).
 *   spaceport dev                 local HTTP API + job runner
 *   spaceport run [zip|folder]    one job from the command line, with live progress
 *   spaceport jobs | status <id> | open <id>
 * README.md, "Local runs", documents the same options as the --help texts below.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { jsonLogger } from "../../functions/log.js";
import type { ExecutionEvent } from "../../functions/ports.js";
import type { Pipeline } from "../define.js";
import type { EnvironmentConfig } from "../environment.js";
import { readStackConfigFile } from "../environment.js";
import { JOB_ID } from "../layout.js";
import { DataDir, resolveDataDir } from "./data.js";
import { ProgressDisplay } from "./display.js";
import { REPO_ROOT } from "./runtime.js";
import { startLocalServices, type LocalServices } from "./services.js";
import { JobStore } from "./store.js";
import { photosIn, zipFiles } from "./zip.js";
import { localTarget, readEnvironment, readTargetFile } from "./target.js";
import { spaceport } from "../../stages/spaceport.js";
import { formatTable as table } from "../table.js";

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

const HELP: Record<string, string> = {
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

const runtimeOptions = {
  "data-dir": { type: "string" },
  env: { type: "string", default: "prod" },
  docker: { type: "boolean", default: false },
  pipeline: { type: "string" },
  config: { type: "string" },
  target: { type: "string" },
  port: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "-h" || command === "--help" || command === "help") {
    console.log(HELP["main"]);
    return command ? 0 : 2;
  }
  switch (command) {
    case "dev":
      return dev(rest);
    case "run":
      return run(rest);
    case "jobs":
      return jobs(rest);
    case "status":
      return status(rest);
    case "open":
      return open(rest);
    default:
      throw new UsageError(`unknown command "${command}"; commands: dev, run, jobs, status, open`);
  }
}

function parse<O extends NonNullable<ParseArgsConfig["options"]>>(args: string[], options: O, command: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${HELP[command]}`);
  }
}

function portOf(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${value}"`);
  return port;
}

async function loadPipeline(spec: string | undefined): Promise<Pipeline | undefined> {
  if (!spec) return undefined;
  const [file, name] = spec.split("#") as [string, string | undefined];
  const path = isAbsolute(file) ? file : resolve(process.cwd(), file);
  if (!existsSync(path)) throw new UsageError(`--pipeline: no file ${path}`);
  const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const candidates = name ? [module[name]] : [module["default"], module["pipeline"], ...Object.values(module)];
  const pipeline = candidates.find((c): c is Pipeline => !!c && typeof c === "object" && Array.isArray((c as Pipeline).stages) && "delivery" in (c as object));
  if (!pipeline) throw new UsageError(`--pipeline: ${spec} exports no pipeline${name ? ` named "${name}"` : ""} (make one with definePipeline)`);
  return pipeline;
}

function loadConfig(file: string | undefined, environment: string): EnvironmentConfig | undefined {
  return file ? readStackConfigFile(resolve(process.cwd(), file), environment) : undefined;
}

async function startServices(values: Record<string, unknown>, port: number, extra: { log?: boolean; onEvent?: (execution: string, event: ExecutionEvent) => void } = {}): Promise<LocalServices> {
  const deployed = values["target"] ? readTargetFile(resolve(process.cwd(), values["target"] as string)) : undefined;
  const environment = deployed?.environment ?? (values["env"] as string);
  const pipeline = (await loadPipeline(values["pipeline"] as string | undefined)) ?? spaceport;
  const config = loadConfig(values["config"] as string | undefined, environment) ?? readEnvironment(REPO_ROOT, environment);
  return startLocalServices({
    dataDir: resolveDataDir(values["data-dir"] as string | undefined),
    environment,
    port,
    pipeline,
    config,
    ...(deployed ? { target: localTarget(environment, config, pipeline, deployed.names) } : {}),
    ...(values["docker"] ? { docker: true } : {}),
    ...(extra.log ? { log: jsonLogger() } : {}),
    ...(extra.onEvent ? { onEvent: extra.onEvent } : {}),
  });
}

/** Resolves when Ctrl-C or SIGTERM arrives. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

// --- dev ------------------------------------------------------------------------------------

async function dev(args: string[]): Promise<number> {
  const { values } = parse(args, runtimeOptions, "dev");
  if (values.help) return help("dev");
  const services = await startServices(values, portOf(values.port, 8787), { log: true });
  const { runtime } = services;
  runtime.emulator.on("log", (l) => process.stdout.write(`[${l.stage}] ${l.line}\n`));
  runtime.emulator.on("job", (j) => process.stdout.write(`[${j.stage}] ${j.jobName}: ${j.status}${j.failureReason ? `: ${j.failureReason}` : ""}\n`));
  runtime.emulator.on("waiting", (w) => process.stdout.write(`[${w.stage}] ${w.jobName}: waiting for a free ${w.instanceType} (${w.inUse}/${w.quota} in use)\n`));
  for (const job of services.recovered) console.log(`recovered job ${job.jobId}: marked failed (${job.reason}); submitter notified`);
  console.log(`spaceport dev: pipeline ${runtime.pipeline.name}, environment ${runtime.environment} (${runtime.config.quotas.map((q) => `${q.count} × ${q.instanceType} ${q.jobKind}`).join(", ")})`);
  console.log(`API        ${services.baseUrl}  (POST /jobs, GET /jobs/{id}, PUT /uploads/<name>.zip)`);
  console.log(`API key    ${services.apiKey}`);
  console.log(`files      ${services.baseUrl}/files/<bucket>/<key>`);
  console.log(`data       ${runtime.data.root}`);
  console.log(`email      ${services.mailTo === "smtp" ? "SMTP ($SPACEPORT_SMTP_URL)" : `${services.mailTo} (.eml files)`}`);
  console.log(`listening on ${services.baseUrl} (Ctrl-C stops)`);
  await untilStopped();
  console.log("stopping: running jobs are failed and their submitters notified");
  await services.close();
  return 0;
}

// --- run ------------------------------------------------------------------------------------

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...runtimeOptions,
      email: { type: "string" },
      quality: { type: "string" },
      serve: { type: "boolean" },
      "no-serve": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
    },
    "run",
  );
  if (values.help) return help("run");
  if (positionals.length > 1) throw new UsageError(`run takes one ZIP or folder, got ${positionals.length} arguments`);
  const data = new DataDir(resolveDataDir(values["data-dir"]));
  const zip = await inputZip(positionals[0], data);
  const email = values.email ?? process.env["SPACEPORT_EMAIL"] ?? "you@example.com";
  const tty = process.stdout.isTTY === true;
  const serve = values["no-serve"] ? false : (values.serve ?? tty);

  let display: ProgressDisplay | undefined;
  let jobId: string | undefined;
  // Stage events can come before POST /jobs answers: keep them until the display exists.
  let early: ((d: ProgressDisplay, id: string) => void)[] = [];
  const deliver = (fn: (d: ProgressDisplay, id: string) => void) => (display && jobId ? fn(display, jobId) : early.push(fn));
  const onEvent = (execution: string, event: ExecutionEvent) => deliver((d, id) => execution === id && d.event(event));
  // 8787 when free, so the links in the job's email work whenever `spaceport dev` or `open` serves them.
  const services = await startServices(values, portOf(values.port, 8787), { onEvent }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE" || values.port !== undefined) throw error;
    return startServices(values, 0, { onEvent });
  });
  const { runtime } = services;
  runtime.emulator.on("progress", (p) => deliver((d) => d.progress(p)));
  runtime.emulator.on("job", (j) => deliver((d, id) => j.execution === id && d.job(j)));
  runtime.emulator.on("waiting", (w) => deliver((d, id) => w.execution === id && d.waiting(w)));
  runtime.emulator.on("log", (l) => deliver((d, id) => l.jobName.startsWith(id) && d.log(l)));
  let outcome: string | undefined;
  const stop = untilStopped().then(async () => {
    display?.stop();
    if (!outcome) console.log("\nstopping: the job is marked failed and its submitter notified");
    await services.close();
    process.exit(outcome === "SUCCEEDED" ? 0 : outcome ? 1 : 130);
  });
  void stop;
  try {
    const input = services.upload(zip);
    const options: Record<string, string> = values.quality ? { quality: values.quality } : {};
    const quality = services.runtime.pipeline.options["quality"];
    if (!values.quality && quality && quality.values.includes("preview")) {
      // Stages run natively here, so training runs on the CPU: say what the default costs.
      console.log(`quality: ${quality.default} (the pipeline's default). Training on this machine's CPU at that quality takes hours; --quality preview gives a quick look.`);
    }
    const response = await fetch(`${services.baseUrl}/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ input, email, options }),
    });
    const body = (await response.json()) as { jobId?: string; error?: { field: string; message: string } };
    if (!response.ok || !body.jobId) {
      console.error(`the job was not accepted (${response.status}): ${body.error ? `${body.error.field}: ${body.error.message}` : JSON.stringify(body)}`);
      await services.close();
      return 1;
    }
    jobId = body.jobId;
    console.log(`job ${jobId}: ${basename(zip)} · pipeline ${runtime.pipeline.name} · environment ${runtime.environment}${values.docker ? " · docker" : ""}`);
    display = new ProgressDisplay(runtime.pipeline, jobId, { tty, verbose: values.verbose });
    for (const fn of early) fn(display, jobId);
    early = [];
    const record = await runtime.executions.wait(jobId);
    outcome = record?.status ?? "FAILED";
    display.stop();
    const summary = summarize(runtime.store, jobId, services, runtime.data.sagemaker, serve);
    console.log(summary.text);
    if (record?.status === "SUCCEEDED" && serve) {
      console.log(`\nserving the viewer at ${services.viewerUrl(jobId)} until Ctrl-C`);
      await new Promise(() => {}); // the stop handler exits
    }
    await services.close();
    return record?.status === "SUCCEEDED" ? 0 : 1;
  } catch (error) {
    display?.stop();
    await services.close();
    throw error;
  }
}

/** The ZIP to submit: the given ZIP, a ZIP of the given folder, or the generated sample survey. */
async function inputZip(argument: string | undefined, data: DataDir): Promise<string> {
  if (argument === undefined) {
    const out = join(data.samples, "survey");
    const zip = join(out, "survey.zip");
    if (existsSync(zip)) {
      console.log(`sample survey: ${zip} (generated earlier; delete it to make a new one)`);
      return zip;
    }
    mkdirSync(out, { recursive: true });
    const python = process.env["SPACEPORT_PYTHON"] ?? "python3";
    console.log(`generating the sample survey: ${python} -m samples.survey --out ${out}`);
    const result = spawnSync(python, ["-m", "samples.survey", "--out", out], { cwd: REPO_ROOT, stdio: "inherit" });
    if (result.error || result.status !== 0 || !existsSync(zip)) {
      throw new Error(`could not generate the sample survey (${result.error?.message ?? `exit code ${result.status}`}); the Python environment comes from: source scripts/env.sh && ensure_python`);
    }
    return zip;
  }
  const path = resolve(process.cwd(), argument);
  if (!existsSync(path)) throw new UsageError(`no such file or folder: ${path}`);
  if (statSync(path).isDirectory()) {
    const photos = photosIn(path);
    if (photos.length === 0) throw new UsageError(`${path} holds no photos (.jpg, .jpeg, .png, .tif, .dng)`);
    const zip = join(data.uploads, `${basename(path) || "photos"}-${new Date().toISOString().replace(/[:.]/g, "-")}.zip`);
    await zipFiles(path, photos, zip);
    console.log(`zipped ${photos.length} photos from ${path} into ${zip}`);
    return zip;
  }
  if (!/\.zip$/i.test(path)) throw new UsageError(`${path} is not a .zip file: pass a ZIP of photos or a folder of photos`);
  return path;
}

// --- summaries ----------------------------------------------------------------------------------

function formatSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

interface Summary {
  readonly text: string;
}

function failureOf(record: { error?: string; cause?: string }, history: ExecutionEvent[]): { stage?: string; reason?: string } {
  const recorded = [...history].reverse().find((e) => e.type === "PassStateExited" && e.stateName?.startsWith("Record ") && e.json);
  if (recorded) {
    try {
      const failure = (JSON.parse(recorded.json!) as { failure?: { stage?: string; error?: { Error?: string; Cause?: string } } }).failure;
      if (failure) return { ...(failure.stage ? { stage: failure.stage } : {}), reason: reasonFrom(failure.error?.Cause) };
    } catch {
      // fall through
    }
  }
  return { reason: reasonFrom(record.cause) };
}

function reasonFrom(cause: string | undefined): string {
  if (!cause) return "(no reason given)";
  try {
    const parsed = JSON.parse(cause) as { ExitMessage?: string; FailureReason?: string };
    return (parsed.ExitMessage || parsed.FailureReason || cause).replace(/^AlgorithmError:\s*/, "");
  } catch {
    return cause;
  }
}

function summarize(store: JobStore, jobId: string, services: LocalServices | undefined, sagemakerDir: string, serving = false): Summary {
  const record = store.getExecution(jobId);
  if (!record) return { text: `no job ${jobId}` };
  const jobs = store.sageMakerJobsOf(jobId);
  const rows = [["stage", "SageMaker job", "status", "progress", "time"]];
  for (const job of jobs) {
    const progress = store.getProgress(job.name);
    rows.push([job.stage, job.name, job.status, progress ? `${Math.round(progress.percent)}%` : "", formatSeconds((job.ended ?? new Date()).getTime() - job.created.getTime())]);
  }
  const lines = [
    "",
    `job ${jobId}: ${record.status}${record.stopDate ? ` after ${formatSeconds(record.stopDate.getTime() - record.startDate.getTime())}` : ""}`,
    "",
    table(rows),
  ];
  const history = store.history(jobId);
  const waits = history.filter((e) => e.type === "TaskSubmitFailed" && /ResourceLimitExceeded/.test(e.error ?? "")).length;
  if (waits > 0) lines.push("", `waited for a free instance (quota) ${waits} time${waits === 1 ? "" : "s"}`);
  if (record.status === "FAILED" || record.status === "ABORTED" || record.status === "TIMED_OUT") {
    const failure = failureOf(record, history);
    lines.push("", `failed${failure.stage ? ` in stage ${failure.stage}` : ""}: ${failure.reason}`);
    const failed = jobs.find((j) => j.status === "Failed");
    if (failed) lines.push(`log: ${join(sagemakerDir, failed.name, "log.txt")}`);
  }
  if (record.status === "SUCCEEDED") {
    const jobFolder = services
      ? services.objectStore.path(services.buckets.processing, `jobs/${jobId}`)
      : findJobFolder(join(sagemakerDir, "..", "buckets"), jobId);
    if (jobFolder) lines.push("", ...resultFigures(jobFolder, jobs.map((j) => join(sagemakerDir, j.name))));
  }
  if (record.status === "SUCCEEDED" && services) {
    const prefix = `jobs/${jobId}/${services.runtime.pipeline.delivery.output}/`;
    const folder = services.objectStore.path(services.buckets.processing, prefix.slice(0, -1));
    lines.push("", `delivery: ${folder}`);
    if (existsSync(folder)) {
      for (const file of readdirSync(folder).sort()) lines.push(`  ${file.padEnd(16)} ${formatBytes(statSync(join(folder, file)).size)}`);
    }
    lines.push("", serving ? `viewer: ${services.viewerUrl(jobId)}` : `viewer: ${join(folder, "index.html")} (serve it with: spaceport open ${jobId})`);
  }
  if (services) {
    const emails = services.mailTo === "smtp" || !existsSync(services.mailTo) ? [] : readdirSync(services.mailTo).filter((f) => f.includes(jobId) && f.endsWith(".eml")).sort();
    lines.push(`email: ${services.mailTo === "smtp" ? "sent over SMTP" : emails.length > 0 ? join(services.mailTo, emails.at(-1)!) : `see ${services.mailTo}`}`);
  }
  return { text: lines.join("\n") };
}

/** `<data>/buckets/<bucket>/jobs/<id>` of a job, whichever bucket holds it. */
function findJobFolder(bucketsDir: string, jobId: string): string | undefined {
  if (!existsSync(bucketsDir)) return undefined;
  return readdirSync(bucketsDir)
    .map((bucket) => join(bucketsDir, bucket, "jobs", jobId))
    .find((folder) => existsSync(folder));
}

/**
 * What the job produced, from the stages' own reports (Spaceport's stage contracts; a
 * pipeline without them simply shows none): photos used, held-out quality, Gaussians, size.
 */
function resultFigures(jobFolder: string, sageMakerJobFolders: string[]): string[] {
  const readJson = (path: string): Record<string, any> | undefined => {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as Record<string, any>;
    } catch {
      return undefined;
    }
  };
  const lines: string[] = [];
  const sfm = readJson(join(jobFolder, "sfm", "report.json"));
  if (sfm) lines.push(`photos used:    ${sfm["photos_placed"]} of ${sfm["photos_received"]} placed`);
  const metrics = sageMakerJobFolders.map((f) => readJson(join(f, "opt", "ml", "model", "metrics.json"))).find(Boolean);
  if (metrics) {
    const psnr = typeof metrics["psnr"] === "number" ? `${metrics["psnr"].toFixed(2)} dB` : "n/a";
    const ssim = typeof metrics["ssim"] === "number" ? metrics["ssim"].toFixed(3) : "n/a";
    lines.push(`held-out:       PSNR ${psnr}, SSIM ${ssim} (${metrics["steps"]} steps)`);
    lines.push(`Gaussians:      ${Number(metrics["gaussians"]).toLocaleString("en-US")}`);
  }
  const delivery = readJson(join(jobFolder, "delivery", "report.json"));
  if (delivery?.["output"]) {
    const out = delivery["output"];
    lines.push(`SOG:            ${formatBytes(out["sogBytes"])} (${Number(out["compressionRatio"]).toFixed(1)}x smaller than the PLY)`);
  }
  return lines;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

// --- jobs, status, open -------------------------------------------------------------------------

function openStore(dataDirOption: string | undefined): { data: DataDir; store: JobStore } {
  const data = new DataDir(resolveDataDir(dataDirOption));
  return { data, store: new JobStore(data.database) };
}

function jobs(args: string[]): number {
  const { values } = parse(args, { "data-dir": { type: "string" }, help: { type: "boolean", short: "h", default: false } }, "jobs");
  if (values.help) return help("jobs");
  const { data, store } = openStore(values["data-dir"]);
  try {
    const executions = store.listExecutions();
    if (executions.length === 0) {
      console.log(`no jobs yet in ${data.root} (start one with: spaceport run)`);
      return 0;
    }
    const rows = [["job", "state", "stage", "started", "duration"]];
    for (const e of executions) {
      const sm = store.sageMakerJobsOf(e.name);
      const current = sm.at(-1);
      const stage = current ? `${current.stage}${current.status === "InProgress" ? ` ${Math.round(store.getProgress(current.name)?.percent ?? 0)}%` : current.status === "Failed" ? " (failed)" : ""}` : "";
      rows.push([e.name, e.status, stage, e.startDate.toISOString().replace("T", " ").slice(0, 19), formatSeconds((e.stopDate ?? new Date()).getTime() - e.startDate.getTime())]);
    }
    console.log(table(rows));
    return 0;
  } finally {
    store.close();
  }
}

function status(args: string[]): number {
  const { values, positionals } = parse(args, { "data-dir": { type: "string" }, history: { type: "boolean", default: false }, help: { type: "boolean", short: "h", default: false } }, "status");
  if (values.help) return help("status");
  const id = positionals[0];
  if (!id) throw new UsageError(`status needs a job id\n\n${HELP["status"]}`);
  const { data, store } = openStore(values["data-dir"]);
  try {
    if (!store.getExecution(id)) {
      console.error(`no job ${id} in ${data.root}${JOB_ID.test(id) ? "" : " (job ids look like 20261126-093012-1a2b3c4d)"}`);
      return 1;
    }
    console.log(summarize(store, id, undefined, data.sagemaker).text.trimStart());
    const record = store.getExecution(id)!;
    if (record.status === "SUCCEEDED") console.log(`\nviewer: spaceport open ${id}`);
    if (values.history) {
      console.log("\nhistory:");
      for (const e of store.history(id)) {
        console.log(`${String(e.id).padStart(4)}  ${e.timestamp.toISOString().slice(11, 23)}  ${e.type.padEnd(24)} ${e.stateName ?? ""}${e.error ? `  ${e.error}` : ""}`);
      }
    }
    return 0;
  } finally {
    store.close();
  }
}

async function open(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { "data-dir": { type: "string" }, port: { type: "string" }, help: { type: "boolean", short: "h", default: false } }, "open");
  if (values.help) return help("open");
  const id = positionals[0];
  if (!id) throw new UsageError(`open needs a job id\n\n${HELP["open"]}`);
  const { createServer } = await import("node:http");
  const { data, store } = openStore(values["data-dir"]);
  const record = store.getExecution(id);
  store.close();
  if (!record) {
    console.error(`no job ${id} in ${data.root}`);
    return 1;
  }
  const deliveries = readdirSync(data.buckets).map((bucket) => ({ bucket, dir: join(data.buckets, bucket, "jobs", id) })).filter((d) => existsSync(d.dir));
  const found = deliveries.flatMap((d) => readdirSync(d.dir).filter((sub) => existsSync(join(d.dir, sub, "index.html"))).map((sub) => ({ ...d, sub })));
  if (found.length === 0) {
    console.error(`job ${id} has no delivery with an index.html (state: ${record.status})`);
    return 1;
  }
  const { bucket, sub } = found[0]!;
  const { LocalObjectStore } = await import("../../functions/adapters/local/object-store.js");
  const { contentTypeFor } = await import("../content-types.js");
  const objects = new LocalObjectStore(data.buckets);
  const prefix = `jobs/${id}/${sub}/`;
  // The same `/files/<bucket>/<key>` layout as `spaceport dev`, so links in local emails work too.
  const server = createServer((req, res) => {
    const parts = new URL(req.url ?? "/", "http://x").pathname.split("/").slice(1);
    try {
      if (parts[0] !== "files" || parts.length < 3) throw new Error("not under /files/");
      const [fileBucket, ...key] = parts.slice(1).map((p) => decodeURIComponent(p));
      const file = objects.path(fileBucket!, key.join("/"));
      if (!statSync(file).isFile()) throw new Error("not a file");
      res.writeHead(200, { "content-type": contentTypeFor(file), "cache-control": "no-cache", "x-content-type-options": "nosniff" });
      objects.stream(fileBucket!, key.join("/")).pipe(res);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(portOf(values.port, 8787), "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  console.log(`delivery: ${join(data.buckets, bucket, prefix)}`);
  console.log(`viewer:   http://127.0.0.1:${port}/files/${bucket}/${prefix}index.html  (Ctrl-C stops)`);
  await untilStopped();
  server.close();
  return 0;
}

function help(command: string): number {
  console.log(HELP[command]);
  return 0;
}

export { HELP };

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main(process.argv.slice(2)).then(
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
