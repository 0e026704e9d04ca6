/**
 * Cost model: per stage, instance price × count × expected duration, with a managed-spot
 * discount where spot is on. Derived from the same stage definitions the compiler uses.
 */
import { effectiveInstance, type Pipeline } from "./define.js";
import type { Duration } from "./duration.js";
import type { EnvironmentConfig } from "./environment.js";
import { expectedDuration, type OptionChoices } from "./expected-duration.js";
import { INSTANCE_TYPES, type InstanceSpec, type InstanceType } from "./instances.js";
import { stageCapacity } from "./quotas.js";
import { earlyRunExpected, earlyRuns } from "./early.js";

/** Managed spot typically saves 60–90% on GPU training; we assume the cautious end. */
export const SPOT_DISCOUNT = 0.6;

export interface StageCostEstimate {
  readonly stage: string;
  readonly kind: "processing" | "training";
  readonly instanceType: InstanceType;
  readonly count: number;
  readonly hourlyUsd: number;
  readonly expectedSeconds: number;
  readonly spot: boolean;
  /** The stage asks for spot but runs on demand here (no spot quota configured). */
  readonly spotFallback: boolean;
  readonly costUsd: number;
  /** What the same job would cost on spot (equal to costUsd unless spotFallback). */
  readonly spotCostUsd: number;
  /**
   * The stage's early run on a preview (`earlyInputs`): extra cost, but beside the training
   * stage, so not in the job's total time. Its `stage` reads `<name> (preview)`.
   */
  readonly preview?: true;
}

export interface CostEstimate {
  readonly stages: readonly StageCostEstimate[];
  readonly totalUsd: number;
  readonly totalSeconds: number;
}

/**
 * With `quotas`, a stage runs on spot only where the environment has the spot quota
 * (quotas.ts `stageCapacity`); without, as the stage asks. `choices` are a job's option values
 * (a stage's expected duration may follow one); an option not given counts at its default.
 */
export function estimateCost(
  pipeline: Pipeline,
  config: Pick<EnvironmentConfig, "instanceOverrides"> & Partial<Pick<EnvironmentConfig, "quotas">> = { instanceOverrides: {} },
  options: { durations?: Readonly<Record<string, Duration>>; spot?: boolean; choices?: OptionChoices; preview?: boolean } = {},
): CostEstimate {
  const stages = pipeline.stages.map((stage): StageCostEstimate => {
    const instance = effectiveInstance(stage, config);
    const hourly = (INSTANCE_TYPES[instance.type] as InstanceSpec).hourlyUsd[stage.kind] ?? 0;
    const expected = options.durations?.[stage.name] ?? expectedDuration(stage, options.choices);
    const asks = stage.kind === "training" && stage.spot !== undefined && options.spot !== false;
    const capacity = config.quotas ? stageCapacity(stage, instance.type, { quotas: config.quotas }) : undefined;
    const spot = asks && (capacity?.spot ?? true);
    const onDemand = hourly * instance.count * (expected.seconds / 3600);
    const cost = onDemand * (spot ? 1 - SPOT_DISCOUNT : 1);
    return {
      stage: stage.name,
      kind: stage.kind,
      instanceType: instance.type,
      count: instance.count,
      hourlyUsd: hourly,
      expectedSeconds: expected.seconds,
      spot,
      spotFallback: asks && !spot,
      costUsd: cost,
      spotCostUsd: asks ? onDemand * (1 - SPOT_DISCOUNT) : cost,
    };
  });
  // The preview runs for the options whose jobs write the early output (`when`), or as `preview` says (a finished job knows).
  const previews = earlyRuns(pipeline)
    .filter((run) => options.preview ?? earlyRunExpected(run, pipeline.options, options.choices))
    .map((run) => {
      const consumer = stages.find((s) => s.stage === run.consumer.name)!;
      const seconds = expectedDuration(run.consumer, options.choices).seconds;
      const cost = consumer.hourlyUsd * consumer.count * (seconds / 3600);
      return { ...consumer, stage: `${run.consumer.name} (preview)`, expectedSeconds: seconds, costUsd: cost, spotCostUsd: cost, preview: true as const };
    });
  return {
    stages: [...stages, ...previews],
    totalUsd: [...stages, ...previews].reduce((sum, s) => sum + s.costUsd, 0),
    totalSeconds: stages.reduce((sum, s) => sum + s.expectedSeconds, 0),
  };
}

export const formatUsd = (usd: number): string => `$${usd.toFixed(2)}`;
