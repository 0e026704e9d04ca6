/** `spaceport open <id>`: serves the local buckets (the same file server as `dev`) and prints the job's viewer URL. */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { LocalObjectStore } from "../../../functions/adapters/local/object-store.js";
import { jobPrefix } from "../../layout.js";
import { fileUrl, startFileServer } from "../file-server.js";
import { linkPortOf, preferredPort } from "../links.js";
import { help, jobIdArgument, parse, portOf } from "./help.js";
import { untilStopped } from "./start.js";
import { withStore } from "./store.js";
import { COMMANDS } from "./usage.mjs";

export async function open(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMANDS.open.options, "open");
  if (values.help) return help("open");
  const id = jobIdArgument(positionals, "open");
  const { data, record } = await withStore(values["data-dir"], (data, store) => ({ data, record: store.getExecution(id) }));
  if (!record) {
    console.error(`no job ${id} in ${data.root}`);
    return 1;
  }
  // Any output folder of the job with a page in it, whichever bucket holds it.
  const folders = readdirSync(data.buckets).map((bucket) => ({ bucket, dir: join(data.buckets, bucket, jobPrefix(id)) })).filter((d) => existsSync(d.dir));
  const found = folders.flatMap((d) => readdirSync(d.dir).filter((sub) => existsSync(join(d.dir, sub, "index.html"))).map((sub) => ({ ...d, sub })));
  if (found.length === 0) {
    console.error(`job ${id} has no delivery with an index.html (state: ${record.status})`);
    return 1;
  }
  const { bucket, sub } = found[0]!;
  const prefix = `${jobPrefix(id)}${sub}/`;
  // Where this job's emailed links point, so they work again; else the data dir's port.
  const port = portOf(values.port, linkPortOf(data, id) ?? preferredPort(data));
  const server = await startFileServer(new LocalObjectStore(data.buckets), { bucket, deliveryOutput: sub, jobId: id }, port).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE") throw error;
    throw new Error(
      `port ${port}, where this job's links point, is in use: if \`spaceport dev\` serves ${data.root} there, the links already work; otherwise stop what listens on ${port}, or pass --port N for a link of its own`,
    );
  });
  console.log(`delivery: ${join(data.buckets, bucket, prefix)}`);
  console.log(`viewer:   ${fileUrl(server.baseUrl, bucket, `${prefix}index.html`)}  (Ctrl-C stops)`);
  await untilStopped();
  await server.close();
  return 0;
}
