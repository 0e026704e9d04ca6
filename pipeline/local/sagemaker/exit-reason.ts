/**
 * Why a stage program ended without writing a reason: its exit code, or the signal that killed
 * it (SIGKILL from the kernel is almost always memory), with its last lines of output.
 */

/** `docker run` reports a signal as exit code 128 + signal number. */
const DOCKER_SIGNALS: Readonly<Record<number, NodeJS.Signals>> = { 134: "SIGABRT", 137: "SIGKILL", 139: "SIGSEGV", 143: "SIGTERM" };
const SIGNAL_HINTS: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: "out of memory?",
  SIGSEGV: "a crash in native code",
  SIGABRT: "a crash in native code",
  SIGTERM: "stopped from outside",
};

export interface ProgramExit {
  readonly exitCode: number | null;
  readonly signal?: NodeJS.Signals | null;
  /** The program ran in a container (`docker run` turns signals into exit codes). */
  readonly docker?: boolean;
}

/** The signal that ended the program, if one did. */
export function killedBy(exit: ProgramExit): NodeJS.Signals | undefined {
  if (exit.signal) return exit.signal;
  if (exit.docker && exit.exitCode !== null) return DOCKER_SIGNALS[exit.exitCode];
  return undefined;
}

/** `stage sfm was killed by SIGKILL (out of memory?) ...` or `stage sfm exited with code 3 ...`. */
export function exitReason(stage: string, exit: ProgramExit, lastLines: readonly string[], hint?: string): string {
  const signal = killedBy(exit);
  const how = signal
    ? `stage ${stage} was killed by ${signal}${SIGNAL_HINTS[signal] ? ` (${SIGNAL_HINTS[signal]})` : ""}`
    : `stage ${stage} exited with code ${exit.exitCode}`;
  const tail = lastLines.filter((l) => l.trim() !== "").slice(-3).map((l) => l.trim().slice(0, 200));
  const detail = hint ? `; ${hint}` : tail.length > 0 ? `; its last output: ${tail.join(" | ")}` : "; it printed nothing";
  return `${how} without writing a reason to /opt/ml/output/failure${detail}`;
}
