/** `spaceport jobs`: past and running jobs, newest first. */
import { formatClock, formatTable } from "../../format.js";
import type { JobStore } from "../store.js";
import { help, parse } from "./help.js";
import { readOptions, withStore } from "./store.js";

export function jobs(args: string[]): Promise<number> | number {
  const { values } = parse(args, readOptions, "jobs");
  if (values.help) return help("jobs");
  return withStore(values["data-dir"], (data, store) => {
    const executions = store.listExecutions();
    if (executions.length === 0) {
      console.log(`no jobs yet in ${data.root} (start one with: spaceport run)`);
      return 0;
    }
    const rows = [["job", "state", "stage", "started", "duration"]];
    for (const e of executions) {
      rows.push([e.name, e.status, currentStage(store, e.name), e.startDate.toISOString().replace("T", " ").slice(0, 19), formatClock((e.stopDate ?? new Date()).getTime() - e.startDate.getTime())]);
    }
    console.log(formatTable(rows));
    return 0;
  });
}

/** The latest stage of a job: its progress while it runs, "(failed)" when it failed. */
function currentStage(store: JobStore, jobId: string): string {
  const current = store.sageMakerJobsOf(jobId).at(-1);
  if (!current) return "";
  if (current.status === "InProgress") return `${current.stage} ${Math.round(store.getProgress(current.name)?.percent ?? 0)}%`;
  return current.status === "Failed" ? `${current.stage} (failed)` : current.stage;
}
