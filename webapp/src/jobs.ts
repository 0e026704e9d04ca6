/** The job list: the caller's jobs (GET /jobs) and any this browser remembers (kept in localStorage), polled through GET /jobs/{id}. */
import { call, type ApiConfig } from "./api.js";

export interface JobView {
  readonly jobId: string;
  readonly state: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  readonly stage: string | null;
  readonly progress: number;
  readonly submittedAt: string;
  readonly finishedAt?: string;
  readonly email?: string;
  readonly options: Record<string, string>;
  readonly stages: readonly { name: string; state: string; progress?: number; waitingFor?: string }[];
  readonly delivery?: { viewer: string; scene: string; preview: string };
  readonly failure?: { stage?: string; reason: string; advice: string };
}

const STORE = "spaceport.jobs";

export const knownJobs = (): string[] => {
  try {
    const ids = JSON.parse(localStorage.getItem(STORE) ?? "[]") as unknown;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
};
export const rememberJob = (jobId: string): void => localStorage.setItem(STORE, JSON.stringify([jobId, ...knownJobs().filter((id) => id !== jobId)].slice(0, 50)));

/** Newest first (job ids begin with their submission time); the API's list, else what this browser remembers. */
export async function jobIds(config: ApiConfig): Promise<string[]> {
  const listed = await call<{ jobs: { jobId: string }[] }>(config, "GET", "/jobs").then(
    (answer) => answer.jobs.map((j) => j.jobId),
    () => [] as string[],
  );
  return [...new Set([...knownJobs(), ...listed])].sort().reverse().slice(0, 50);
}

export const fetchJob = (config: ApiConfig, jobId: string): Promise<JobView> => call<JobView>(config, "GET", `/jobs/${jobId}`);

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** Time so far, and an estimate of what is left: from the progress rate, else the cost model's expected total. */
export function timing(job: JobView, now: number, expectedSeconds: number): { elapsed: string; left: string } {
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  const elapsed = (end - Date.parse(job.submittedAt)) / 1000;
  if (job.state !== "running" && job.state !== "queued") return { elapsed: duration(elapsed), left: "" };
  const left = job.progress > 1 ? (elapsed * (100 - job.progress)) / job.progress : Math.max(0, expectedSeconds - elapsed);
  return { elapsed: duration(elapsed), left: `about ${duration(left)}` };
}

export const STATE_WORDS: Record<JobView["state"], string> = {
  queued: "Waiting to start",
  running: "Running",
  succeeded: "Ready",
  failed: "Failed",
  cancelled: "Cancelled",
};
