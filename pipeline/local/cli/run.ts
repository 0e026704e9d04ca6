/** `spaceport run`: one job from the command line, live progress per stage, then a summary. */
import { basename } from "node:path";
import type { ExecutionEvent } from "../../../functions/ports.js";
import { DataDir, resolveDataDir } from "../data.js";
import { ProgressDisplay } from "../display.js";
import { preferredPort, rememberPort } from "../links.js";
import type { LocalServices } from "../services.js";
import { help, parse, portOf } from "./help.js";
import { inputZip } from "./input.js";
import { readNotification } from "../../../functions/notify/state.js";
import { notificationText } from "../notification-text.js";
import { summarize } from "./output.js";
import { startServices, untilStopped, type CliRoot } from "./start.js";
import { COMMANDS } from "./usage.mjs";

const runOptions = COMMANDS.run.options;

type Deliver = (fn: (display: ProgressDisplay, jobId: string) => void) => void;

/** Stage events can come before POST /jobs answers: they wait until the display exists. */
class EarlyEvents {
  display: ProgressDisplay | undefined;
  jobId: string | undefined;
  private early: ((d: ProgressDisplay, id: string) => void)[] = [];

  readonly deliver: Deliver = (fn) => (this.display && this.jobId ? fn(this.display, this.jobId) : void this.early.push(fn));

  show(display: ProgressDisplay, jobId: string): void {
    this.display = display;
    this.jobId = jobId;
    for (const fn of this.early) fn(display, jobId);
    this.early = [];
  }
}

export async function run(args: string[], root: CliRoot): Promise<number> {
  const { values, positionals } = parse(args, runOptions, "run");
  if (values.help) return help("run");
  const data = new DataDir(resolveDataDir(values["data-dir"]));
  const zip = await inputZip(positionals[0], data);
  const tty = process.stdout.isTTY === true;
  const serve = values["no-serve"] ? false : (values.serve ?? tty);
  const events = new EarlyEvents();
  const onEvent = (execution: string, event: ExecutionEvent) => events.deliver((d, id) => execution === id && d.event(event));
  // The data dir's own port when free (8787 at first), so the links in the job's email work
  // whenever `spaceport dev`, `run` or `open` serves this data dir again.
  const preferred = portOf(values.port, preferredPort(data));
  const services = await startServices(values, preferred, root, { onEvent }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE" || values.port !== undefined) throw error;
    return startServices(values, 0, root, { onEvent });
  });
  const port = Number(new URL(services.baseUrl).port);
  if (port === preferred) rememberPort(data, port);
  else if (values.port === undefined) console.log(`port ${preferred} is taken (another server?): this job's links use port ${port}; after this run, \`spaceport open <job id>\` serves them there`);
  follow(services, events.deliver);
  let outcome: string | undefined;
  void untilStopped().then(async () => {
    events.display?.stop();
    if (!outcome) console.log("\nstopping: the job is marked failed");
    for (const job of await services.close()) console.log(`job ${job.jobId}: ${notificationText(job.notification)}`);
    process.exit(outcome === "SUCCEEDED" ? 0 : outcome ? 1 : 130);
  });
  try {
    const jobId = await submit(services, zip, values.email ?? process.env["SPACEPORT_EMAIL"] ?? "you@example.com", values.quality);
    if (!jobId) {
      await services.close();
      return 1;
    }
    console.log(`job ${jobId}: ${basename(zip)} · pipeline ${services.runtime.pipeline.name} · environment ${services.runtime.environment}${values.docker ? " · docker" : ""}`);
    const display = new ProgressDisplay(services.runtime.pipeline, jobId, { tty, verbose: values.verbose });
    events.show(display, jobId);
    const record = await services.runtime.executions.wait(jobId);
    outcome = record?.status ?? "FAILED";
    display.stop();
    const { runtime } = services;
    const notified = await readNotification(services.objectStore, services.buckets.processing, jobId, outcome === "SUCCEEDED" ? "succeeded" : "failed");
    console.log(summarize(runtime.store, jobId, { services, sagemakerDir: runtime.data.sagemaker, serving: serve, ...(root.summary ? { figures: root.summary } : {}), ...(notified ? { notified } : {}) }));
    if (outcome === "SUCCEEDED" && serve) {
      console.log(`\nserving the viewer at ${services.viewerUrl(jobId)} until Ctrl-C`);
      await new Promise(() => {}); // the stop handler exits
    }
    await services.close();
    return outcome === "SUCCEEDED" ? 0 : 1;
  } catch (error) {
    events.display?.stop();
    await services.close();
    throw error;
  }
}

/** The emulator's events of this job, to its display. */
function follow(services: LocalServices, deliver: Deliver): void {
  const { emulator } = services.runtime;
  emulator.on("progress", (p) => deliver((d) => d.progress(p)));
  emulator.on("job", (j) => deliver((d, id) => j.execution === id && d.job(j)));
  emulator.on("waiting", (w) => deliver((d, id) => w.execution === id && d.waiting(w)));
  emulator.on("log", (l) => deliver((d, id) => l.jobName.startsWith(id) && d.log(l)));
}

/** `POST /jobs` through the local API, as any client would; the job id, or undefined after saying why not. */
async function submit(services: LocalServices, zip: string, email: string, quality: string | undefined): Promise<string | undefined> {
  const input = services.upload(zip);
  const options: Record<string, string> = quality ? { quality } : {};
  const option = services.runtime.pipeline.options["quality"];
  if (!quality && option && option.values.includes("preview")) {
    // Stages run natively here, so training runs on the CPU: say what the default costs.
    console.log(`quality: ${option.default} (the pipeline's default). Training on this machine's CPU at that quality takes hours; --quality preview gives a quick look.`);
  }
  const response = await fetch(`${services.baseUrl}/jobs`, {
    method: "POST",
    headers: { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ input, email, options }),
  });
  const body = (await response.json()) as { jobId?: string; error?: { field: string; message: string } };
  if (response.ok && body.jobId) return body.jobId;
  console.error(`the job was not accepted (${response.status}): ${body.error ? `${body.error.field}: ${body.error.message}` : JSON.stringify(body)}`);
  return undefined;
}
