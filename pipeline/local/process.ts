/** Which process owns a running job: pid plus its start time, so a reused pid is not mistaken for it. */
import { readFileSync } from "node:fs";

export interface ProcessIdentity {
  readonly pid: number;
  /** Start time in clock ticks since boot (Linux `/proc/<pid>/stat` field 22); "" where unknown. */
  readonly start: string;
}

export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (comm) may hold spaces and parentheses: split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19]; // field 22 overall
  } catch {
    return undefined;
  }
}

export function currentProcess(): ProcessIdentity {
  return { pid: process.pid, start: processStart(process.pid) ?? "" };
}

export function isAlive(owner: ProcessIdentity): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  const start = processStart(owner.pid);
  return start === undefined || owner.start === "" || start === owner.start;
}

/** Whether `pid` is a process this runtime started for SageMaker job `jobName` (checked through its environment). */
export function isStageProcess(pid: number, jobName: string): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return environ.includes(`SPACEPORT_SAGEMAKER_JOB=${jobName}`);
  } catch {
    return false;
  }
}
