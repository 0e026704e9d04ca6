/**
 * How many jobs an environment can run in a day: per quota pool (instance type and quota
 * kind), approved instances × 24 h ÷ the instance-time one job takes there (the longest
 * expected duration any job option gives × instance count, summed over the stages drawing on
 * that pool: admitted jobs fit even if every submitter picks the slowest, and a stage that
 * also runs early, on a preview, counts twice); the pipeline's
 * capacity is its tightest pool. The API admits no more jobs a day per client than that, and
 * tells a submitter when the jobs already queued are more than a day of work.
 */
import { effectiveInstance, type Pipeline } from "./define.js";
import type { EnvironmentConfig } from "./environment.js";
import { longestExpectedDuration } from "./expected-duration.js";
import { quotaName, stageCapacity } from "./quotas.js";
import { earlyRuns } from "./early.js";

export const DAY_SECONDS = 86_400;

export interface PoolCapacity {
  /** The quota's name as AWS spells it ("ml.g4dn.xlarge for training job usage"). */
  readonly quota: string;
  readonly instances: number;
  readonly stages: readonly string[];
  /** Instance-seconds one job uses in this pool. */
  readonly instanceSecondsPerJob: number;
  readonly jobsPerDay: number;
}

export interface DailyCapacity {
  readonly pools: readonly PoolCapacity[];
  /**
   * Whole jobs a day the tightest pool allows, at least 1. Infinity where no stage's quota is
   * listed (such a config cannot compile; the handlers' tests use one).
   */
  readonly jobsPerDay: number;
  readonly bottleneck?: PoolCapacity;
}

export function dailyCapacity(pipeline: Pipeline, config: Pick<EnvironmentConfig, "quotas" | "instanceOverrides">): DailyCapacity {
  const pools = new Map<string, { instances: number; stages: string[]; seconds: number }>();
  for (const stage of pipeline.stages) {
    const instance = effectiveInstance(stage, config);
    const { quotaKind, quota } = stageCapacity(stage, instance.type, config);
    const key = quotaName(instance.type, quotaKind);
    const pool = pools.get(key) ?? { instances: quota ?? 0, stages: [], seconds: 0 };
    pool.stages.push(stage.name);
    // A stage that also runs early (a preview) takes its instance twice: capacity plans for the jobs that write the early output.
    const runs = earlyRuns(pipeline).some((r) => r.consumer.name === stage.name) ? 2 : 1;
    pool.seconds += instance.count * longestExpectedDuration(stage).seconds * runs;
    pools.set(key, pool);
  }
  const list: PoolCapacity[] = [...pools.entries()].map(([quota, p]) => ({
    quota,
    instances: p.instances,
    stages: p.stages,
    instanceSecondsPerJob: p.seconds,
    jobsPerDay: (p.instances * DAY_SECONDS) / p.seconds,
  }));
  const known = list.filter((p) => p.instances > 0);
  if (known.length === 0) return { pools: list, jobsPerDay: Number.POSITIVE_INFINITY };
  const bottleneck = known.reduce((a, b) => (b.jobsPerDay < a.jobsPerDay ? b : a));
  return { pools: list, jobsPerDay: Math.max(1, Math.floor(bottleneck.jobsPerDay)), bottleneck };
}

export interface AdmissionLimit {
  readonly capacityPerDay: number;
  /** Jobs one API client may start per UTC day: `apiRateLimit.jobsPerDay`, never above capacity. */
  readonly jobsPerDay: number;
  /** The configured value, where it was above capacity and so lowered. */
  readonly loweredFrom?: number;
}

export function admissionLimit(
  pipeline: Pipeline,
  config: Pick<EnvironmentConfig, "quotas" | "instanceOverrides"> & { readonly apiRateLimit: { readonly jobsPerDay?: number | undefined } },
): AdmissionLimit {
  const capacityPerDay = dailyCapacity(pipeline, config).jobsPerDay;
  const configured = config.apiRateLimit.jobsPerDay;
  if (configured === undefined) return { capacityPerDay, jobsPerDay: capacityPerDay };
  if (configured <= capacityPerDay) return { capacityPerDay, jobsPerDay: configured };
  return { capacityPerDay, jobsPerDay: capacityPerDay, loweredFrom: configured };
}

/** What a submitter is told when the jobs ahead are more than a day of work; undefined otherwise. */
export function queueWarning(jobsAhead: number, capacityPerDay: number): string | undefined {
  if (jobsAhead < capacityPerDay) return undefined;
  const hours = Math.round((jobsAhead / capacityPerDay) * 24);
  return (
    `${jobsAhead} jobs are queued or running ahead of this one, about ${hours} h of work at this service's capacity ` +
    `(${capacityPerDay} jobs a day): this job may wait more than a day for an instance and then fail; submitting it later is safer`
  );
}
