/**
 * One stage process from start to exit: spawned as its launcher says, its lines read as they
 * come (log file, progress, metrics), stopped at MaxRuntimeInSeconds (SIGTERM, then SIGKILL).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { dirname } from "node:path";
import { createInterface } from "node:readline";
import type { JobSpec, RunOutcome } from "./job-spec.js";
import type { Launch } from "./launchers.js";
import { LogReader } from "./logs.js";

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly jobName: string;
  readonly docker: boolean;
}

export interface StageProcessHooks {
  /** A line of the process (stdout/stderr) or of the runtime about it. */
  log(stream: "stdout" | "stderr" | "runtime", line: string): void;
  progress(percent: number, what: string): void;
  started(running: RunningProcess): void;
  /** After SIGTERM on MaxRuntimeInSeconds, how long before SIGKILL. */
  readonly stopGraceMs: number;
}

/** SIGTERM/SIGKILL to a job: `docker stop/kill` for a container, else its whole process group. */
export function killStage(p: RunningProcess, signal: NodeJS.Signals): void {
  if (p.docker) {
    spawnSync("docker", [signal === "SIGKILL" ? "kill" : "stop", p.jobName], { stdio: "ignore", env: process.env });
    return;
  }
  if (p.child.pid === undefined) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    p.child.kill(signal);
  }
}

export async function runStageProcess(spec: JobSpec, launch: Launch, environment: Readonly<Record<string, string>>, hooks: StageProcessHooks): Promise<RunOutcome> {
  const child = spawn(launch.command, [...launch.args], {
    cwd: dirname(dirname(spec.optMl)),
    env: { ...process.env, PYTHONUNBUFFERED: "1", ...environment, ...launch.extraEnvironment },
    stdio: ["ignore", "pipe", "pipe"],
    detached: !launch.docker,
  });
  const running: RunningProcess = { child, jobName: spec.name, docker: launch.docker };
  hooks.started(running);

  const reader = new LogReader(spec.metricDefinitions);
  const onLine = (stream: "stdout" | "stderr") => (line: string) => {
    hooks.log(stream, line);
    const progress = reader.read(line);
    if (progress) hooks.progress(progress.percent, progress.what);
  };
  const closed = Promise.all([
    new Promise<void>((done) => createInterface({ input: child.stdout }).on("line", onLine("stdout")).on("close", done)),
    new Promise<void>((done) => createInterface({ input: child.stderr }).on("line", onLine("stderr")).on("close", done)),
  ]);

  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  const limit = spec.maxRuntimeSeconds;
  if (limit !== undefined) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        hooks.log("runtime", `MaxRuntimeInSeconds (${limit} s) reached: stopping the job`);
        killStage(running, "SIGTERM");
        timers.push(setTimeout(() => killStage(running, "SIGKILL"), hooks.stopGraceMs));
      }, limit * 1000),
    );
  }
  const exit = await new Promise<{ code: number | null; signal?: NodeJS.Signals | null; error?: Error }>((done) => {
    child.once("error", (error) => done({ code: null, error }));
    child.once("exit", (code, signal) => done({ code, signal }));
  });
  timers.forEach(clearTimeout);
  await closed;
  hooks.log("runtime", exit.error ? `could not start: ${exit.error.message}` : exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`);
  const common = { timedOut, lastLines: reader.lastLines, metrics: reader.metrics };
  if (exit.error) {
    return { ...common, ok: false, exitCode: null, clientError: `could not start the entry program of stage ${spec.stage.name}: ${exit.error.message}` };
  }
  return { ...common, ok: exit.code === 0 && !timedOut, exitCode: exit.code, signal: exit.signal ?? null, docker: running.docker };
}
