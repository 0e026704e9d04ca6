/** `spaceport dev`: the local API and job runner, until Ctrl-C. */
import { DataDir, resolveDataDir } from "../data.js";
import { preferredPort, rememberPort } from "../links.js";
import { notificationText } from "../notification-text.js";
import { help, parse, portOf } from "./help.js";
import { runtimeOptions, startServices, untilStopped, type CliRoot } from "./start.js";

export async function dev(args: string[], root: CliRoot): Promise<number> {
  const { values } = parse(args, runtimeOptions, "dev");
  if (values.help) return help("dev");
  const data = new DataDir(resolveDataDir(values["data-dir"]));
  // The data dir's own port (8787 at first): links in earlier emails point there.
  const services = await startServices(values, portOf(values.port, preferredPort(data)), root, { log: true });
  const port = Number(new URL(services.baseUrl).port);
  if (values.port !== "0") rememberPort(data, port);
  const { runtime } = services;
  runtime.emulator.on("log", (l) => process.stdout.write(`[${l.stage}] ${l.line}\n`));
  runtime.emulator.on("job", (j) => process.stdout.write(`[${j.stage}] ${j.jobName}: ${j.status}${j.failureReason ? `: ${j.failureReason}` : ""}\n`));
  runtime.emulator.on("waiting", (w) => process.stdout.write(`[${w.stage}] ${w.jobName}: waiting for a free ${w.instanceType} (${w.inUse}/${w.quota} in use)\n`));
  for (const job of services.recovered) console.log(`recovered job ${job.jobId}: marked failed (${job.reason}); ${notificationText(job.notification)}`);
  console.log(`spaceport dev: pipeline ${runtime.pipeline.name}, environment ${runtime.environment} (${runtime.config.quotas.map((q) => `${q.count} × ${q.instanceType} ${q.jobKind}`).join(", ")})`);
  console.log(`API        ${services.baseUrl}  (POST /jobs, GET /jobs/{id}, PUT /uploads/<name>.zip)`);
  console.log(`API key    ${services.apiKey}`);
  console.log(`files      ${services.baseUrl}/files/<bucket>/<key>`);
  console.log(`data       ${runtime.data.root}`);
  console.log(`email      ${services.mailTo === "smtp" ? "SMTP ($SPACEPORT_SMTP_URL)" : `${services.mailTo} (.eml files)`}`);
  console.log(`listening on ${services.baseUrl} (Ctrl-C stops)`);
  await untilStopped();
  console.log("stopping: running jobs are failed and their submitters told");
  for (const job of await services.close()) console.log(`job ${job.jobId}: marked failed; ${notificationText(job.notification)}`);
  return 0;
}
