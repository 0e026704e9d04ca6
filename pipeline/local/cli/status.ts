/** `spaceport status <id>`: one job's stages, failure reason and, with --history, every execution event. */
import { JOB_ID } from "../../layout.js";
import { help, jobIdArgument, parse } from "./help.js";
import { summarize, type StageSummary } from "./output.js";
import { withStore } from "./store.js";
import { COMMANDS } from "./usage.mjs";

export function status(args: string[], figures?: StageSummary): Promise<number> | number {
  const { values, positionals } = parse(args, COMMANDS.status.options, "status");
  if (values.help) return help("status");
  const id = jobIdArgument(positionals, "status");
  return withStore(values["data-dir"], (data, store) => {
    const record = store.getExecution(id);
    if (!record) {
      console.error(`no job ${id} in ${data.root}${JOB_ID.test(id) ? "" : " (job ids look like 20261126-093012-1a2b3c4d)"}`);
      return 1;
    }
    console.log(summarize(store, id, { sagemakerDir: data.sagemaker, ...(figures ? { figures } : {}) }).trimStart());
    if (record.status === "SUCCEEDED") console.log(`\nviewer: spaceport open ${id}`);
    if (values.history) {
      console.log("\nhistory:");
      for (const e of store.history(id)) {
        console.log(`${String(e.id).padStart(4)}  ${e.timestamp.toISOString().slice(11, 23)}  ${e.type.padEnd(24)} ${e.stateName ?? ""}${e.error ? `  ${e.error}` : ""}`);
      }
    }
    return 0;
  });
}
