/**
 * SageMaker instance types the DSL knows, per job kind, with us-west-2 on-demand hourly
 * prices for the cost model. The three types Spaceport uses carry the seed's figures
 * (ml.c6i.2xlarge $0.34, ml.g4dn.xlarge $0.736, ml.c6i.4xlarge $0.68); the others are
 * list prices rounded to the cent. Prices change: treat estimates as estimates.
 */
export type JobKind = "processing" | "training";

export interface InstanceSpec {
  readonly vcpu: number;
  readonly memoryGiB: number;
  readonly gpus: number;
  readonly gpuMemoryGiB: number;
  /** Hourly on-demand price in USD, per job kind where SageMaker offers the type for it. */
  readonly hourlyUsd: Partial<Record<JobKind, number>>;
}

export const INSTANCE_TYPES = {
  "ml.t3.medium": { vcpu: 2, memoryGiB: 4, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.05 } },
  "ml.m5.large": { vcpu: 2, memoryGiB: 8, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.115, training: 0.115 } },
  "ml.m5.xlarge": { vcpu: 4, memoryGiB: 16, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.23, training: 0.23 } },
  "ml.m5.2xlarge": { vcpu: 8, memoryGiB: 32, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.46, training: 0.46 } },
  "ml.c5.2xlarge": { vcpu: 8, memoryGiB: 16, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.41, training: 0.41 } },
  "ml.c6i.xlarge": { vcpu: 4, memoryGiB: 8, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.17, training: 0.17 } },
  "ml.c6i.2xlarge": { vcpu: 8, memoryGiB: 16, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.34, training: 0.34 } },
  "ml.c6i.4xlarge": { vcpu: 16, memoryGiB: 32, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 0.68, training: 0.68 } },
  "ml.c6i.8xlarge": { vcpu: 32, memoryGiB: 64, gpus: 0, gpuMemoryGiB: 0, hourlyUsd: { processing: 1.36, training: 1.36 } },
  "ml.g4dn.xlarge": { vcpu: 4, memoryGiB: 16, gpus: 1, gpuMemoryGiB: 16, hourlyUsd: { processing: 0.736, training: 0.736 } },
  "ml.g4dn.2xlarge": { vcpu: 8, memoryGiB: 32, gpus: 1, gpuMemoryGiB: 16, hourlyUsd: { processing: 0.94, training: 0.94 } },
  "ml.g5.xlarge": { vcpu: 4, memoryGiB: 16, gpus: 1, gpuMemoryGiB: 24, hourlyUsd: { processing: 1.41, training: 1.41 } },
  "ml.g5.2xlarge": { vcpu: 8, memoryGiB: 32, gpus: 1, gpuMemoryGiB: 24, hourlyUsd: { processing: 1.52, training: 1.52 } },
  "ml.p3.2xlarge": { vcpu: 8, memoryGiB: 61, gpus: 1, gpuMemoryGiB: 16, hourlyUsd: { training: 3.83 } },
} as const satisfies Record<string, InstanceSpec>;

export type InstanceType = keyof typeof INSTANCE_TYPES;

export function isInstanceType(value: string): value is InstanceType {
  return Object.hasOwn(INSTANCE_TYPES, value);
}

export function instanceSpec(type: InstanceType): InstanceSpec {
  return INSTANCE_TYPES[type];
}

/** The accelerator a stage on this instance type gets: every GPU type in the table is NVIDIA's. */
export type AcceleratorKind = "nvidia" | "none";

export function acceleratorOf(type: InstanceType): AcceleratorKind {
  return INSTANCE_TYPES[type].gpus > 0 ? "nvidia" : "none";
}

export function supportsJobKind(type: InstanceType, kind: JobKind): boolean {
  return (INSTANCE_TYPES[type] as InstanceSpec).hourlyUsd[kind] !== undefined;
}

/** SageMaker's own limits on a job's maximum runtime (StoppingCondition.MaxRuntimeInSeconds). */
export const MAX_RUNTIME_SECONDS: Record<JobKind, number> = {
  processing: 777_600, // 9 days
  training: 2_419_200, // 28 days
};

/** SageMaker's volume size limits (GB) for the ML storage volume. */
export const VOLUME_SIZE_GB = { min: 1, max: 16_384 } as const;
