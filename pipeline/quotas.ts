/**
 * SageMaker service quotas as the account sees them: one quota per instance type and job
 * kind, where managed spot training draws on its own quota ("... for spot training job
 * usage"), apart from on-demand training. What a stage needs in an environment, and how it
 * runs there (spot or on demand), is decided here once: the compile check, the compiled
 * request, the cost model and `describe` all read `stageCapacity`.
 */
import { QUOTA_KINDS, type EnvironmentConfig, type Quota } from "./environment.js";
import type { InstanceType, JobKind } from "./instances.js";
import type { Stage } from "./stage.js";

export { QUOTA_KINDS };
export type QuotaKind = (typeof QUOTA_KINDS)[number];

/** The quota's name exactly as the Service Quotas console and SageMaker's errors spell it. */
export function quotaName(type: InstanceType, kind: QuotaKind): string {
  const usage = kind === "spot-training" ? "spot training job usage" : `${kind} job usage`;
  return `${type} for ${usage}`;
}

/** How to ask AWS for a quota, in one line a deployer can follow. */
export function quotaRequestHint(type: InstanceType, kind: QuotaKind, region: string): string {
  const name = quotaName(type, kind);
  return (
    `request it in the Service Quotas console (Amazon SageMaker → "${name}" → Request increase) or with ` +
    `aws service-quotas request-service-quota-increase --region ${region} --service-code sagemaker --desired-value <n> --quota-code ` +
    `$(aws service-quotas list-service-quotas --region ${region} --service-code sagemaker --query "Quotas[?QuotaName=='${name}'].QuotaCode" --output text), ` +
    `then add { instanceType: ${type}, jobKind: ${kind}, count: <n> } to spaceport:quotas`
  );
}

export function quotaFor(config: Pick<EnvironmentConfig, "quotas">, type: InstanceType, kind: QuotaKind): number | undefined {
  const matches = config.quotas.filter((q: Quota) => q.instanceType === type && q.jobKind === kind);
  return matches.length === 0 ? undefined : Math.max(...matches.map((q) => q.count));
}

/**
 * How a stage runs in an environment:
 * - `spot`: the stage asks for managed spot and the environment has that spot quota;
 * - `spotFallback`: it asks for spot but no spot quota is configured, so it runs on demand
 *   (waiting on a quota the account does not have would fail every job after hours);
 * - `quotaKind` is the quota its jobs draw on, `quota` what the environment approved (undefined: none listed).
 */
export interface StageCapacity {
  readonly spot: boolean;
  readonly spotFallback: boolean;
  readonly quotaKind: QuotaKind;
  readonly quota: number | undefined;
}

export function stageCapacity(stage: Stage, type: InstanceType, config: Pick<EnvironmentConfig, "quotas">): StageCapacity {
  const kind: JobKind = stage.kind;
  if (stage.kind === "training" && stage.spot) {
    const spotQuota = quotaFor(config, type, "spot-training");
    if (spotQuota !== undefined) return { spot: true, spotFallback: false, quotaKind: "spot-training", quota: spotQuota };
    return { spot: false, spotFallback: true, quotaKind: "training", quota: quotaFor(config, type, "training") };
  }
  return { spot: false, spotFallback: false, quotaKind: kind, quota: quotaFor(config, type, kind) };
}
