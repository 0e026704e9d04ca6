/**
 * What a first deployment's jobs would hit on AWS, checked on the compiled pipeline: the spot
 * quota, the error names Step Functions really raises, bounded retriers in the right order,
 * network isolation, environment tags, and the daily capacity the API admits.
 */
import { describe, expect, it } from "@jest/globals";
import { allStates } from "../../pipeline/asl.js";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  admissionLimit,
  compile,
  dailyCapacity,
  definePipeline,
  parseEnvironmentConfig,
  estimateCost,
  expectedRetryWaitSeconds,
  queueWarning,
  QUOTA_RETRY,
  QUOTA_WAIT_SECONDS,
  readStackConfigFile,
  stageCapacity,
  THROTTLING_RETRY,
  type AslRetrier,
  type EnvironmentConfig,
} from "../../pipeline/index.js";
import { describe as describePipeline } from "../../stages/describe.js";
import { spaceport } from "../../stages/spaceport.js";
import { PROD_QUOTAS, testTarget } from "./fixtures.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SPOT = { instanceType: "ml.g4dn.xlarge", jobKind: "spot-training", count: 1 } as const;
const withQuotas = (quotas: EnvironmentConfig["quotas"]) => testTarget({ config: { region: "us-west-2", quotas, instanceOverrides: {} } });
const training = (target = testTarget()) => compile(spaceport, target).stages.find((s) => s.kind === "training")!;

describe("spot training quota", () => {
  it("is its own quota kind: with it the stage runs on spot, with checkpoints", () => {
    const stage = training(withQuotas([...PROD_QUOTAS, SPOT]));
    expect(stage.kind === "training" && stage.request.EnableManagedSpotTraining).toBe(true);
    const request = stage.kind === "training" ? stage.request : undefined;
    expect(request!.StoppingCondition!.MaxWaitTimeInSeconds).toBe(8 * 3600);
    expect(request!.CheckpointConfig!.S3Uri).toMatch(/\/checkpoints\/gaussian-splatting\/$/);
  });

  it("not configured (prod as committed): the spot stage runs on demand, no spot fields, no wait on a missing quota", () => {
    const prod = readStackConfigFile(resolve(root, "Pulumi.prod.yaml"), "prod");
    expect(prod.quotas.some((q) => q.jobKind === "spot-training")).toBe(false);
    const stage = training(testTarget({ config: { region: prod.region, quotas: prod.quotas, instanceOverrides: {} } }));
    const request = stage.kind === "training" ? stage.request : undefined;
    expect(request!.EnableManagedSpotTraining).toBeUndefined();
    expect(request!.StoppingCondition!.MaxWaitTimeInSeconds).toBeUndefined();
    // Checkpoints stay: not for spot, for the early model SageMaker copies to S3 while training runs.
    expect(request!.CheckpointConfig).toEqual({ S3Uri: "s3://spaceport-test-processing/jobs/⟦$.jobId⟧/checkpoints/gaussian-splatting/", LocalPath: "/opt/ml/checkpoints" });
    expect(stageCapacity(spaceport.stages[1]!, "ml.g4dn.xlarge", prod)).toEqual({ spot: false, spotFallback: true, quotaKind: "training", quota: 1 });
  });

  it("a spot quota of 0 fails the compile naming the quota exactly and how to request it", () => {
    expect(() => compile(spaceport, withQuotas([...PROD_QUOTAS, { ...SPOT, count: 0 }]))).toThrow(
      /stage "gaussian-splatting", instance\.type: .*"ml\.g4dn\.xlarge for spot training job usage" is 0.*Service Quotas console.*request-service-quota-increase --region us-west-2 --service-code sagemaker/,
    );
  });

  it("an on-demand quota of 0 fails naming that quota", () => {
    const quotas = PROD_QUOTAS.map((q) => (q.jobKind === "training" ? { ...q, count: 0 } : q));
    expect(() => compile(spaceport, withQuotas(quotas))).toThrow(/"ml\.g4dn\.xlarge for training job usage" is 0/);
  });

  it("describe says the stage runs on demand, with the cost difference; cost follows the quota", () => {
    const prod = readStackConfigFile(resolve(root, "Pulumi.prod.yaml"), "prod");
    const cost = estimateCost(spaceport, prod).stages[1]!;
    expect(cost).toMatchObject({ spot: false, spotFallback: true });
    expect(cost.costUsd).toBeGreaterThan(cost.spotCostUsd);
    const text = describePipeline(spaceport, "prod", prod, false);
    expect(text).toMatch(/gaussian-splatting .* on demand\*/);
    expect(text).toContain(`runs on demand, $${(cost.costUsd - cost.spotCostUsd).toFixed(2)} a job more than on spot`);
    expect(text).toContain('"ml.g4dn.xlarge for spot training job usage"');
    const spot = estimateCost(spaceport, { ...prod, quotas: [...prod.quotas, SPOT] }).stages[1]!;
    expect(spot).toMatchObject({ spot: true, spotFallback: false });
    expect(spot.costUsd).toBeCloseTo(cost.spotCostUsd, 6);
  });
});

describe("retriers on every SageMaker Task", () => {
  const compiled = compile(spaceport, testTarget());
  const retries = compiled.stages.map((s) => (allStates(compiled.definition)[s.runState] as { Retry: AslRetrier[] }).Retry);

  it("retry the error names Step Functions raises for the .sync SageMaker integrations, quota first", () => {
    for (const retry of retries) {
      expect(retry[0]!.ErrorEquals).toContain("SageMaker.ResourceLimitExceededException");
      // Unmodelled SageMaker errors (ThrottlingException among them) arrive as the SDK's base exception.
      expect(retry[1]!.ErrorEquals).toEqual(["SageMaker.AmazonSageMakerException"]);
      expect(retry.flatMap((r) => r.ErrorEquals)).not.toContain("SageMaker.ThrottlingException");
      expect(retry.flatMap((r) => r.ErrorEquals)).not.toContain("States.ALL");
    }
  });

  it("are bounded: the quota wait is about a day (not about 12 h), throttling a few minutes", () => {
    for (const retrier of [QUOTA_RETRY, THROTTLING_RETRY]) {
      expect(Number.isInteger(retrier.MaxAttempts)).toBe(true);
      expect(retrier.MaxAttempts).toBeLessThanOrEqual(250);
    }
    const quotaWait = expectedRetryWaitSeconds(QUOTA_RETRY);
    expect(quotaWait).toBeGreaterThanOrEqual(QUOTA_WAIT_SECONDS);
    expect(quotaWait).toBeLessThan(QUOTA_WAIT_SECONDS + 900);
    expect(expectedRetryWaitSeconds(THROTTLING_RETRY)).toBeLessThan(600);
    // The execution's own timeout leaves room for that wait.
    expect(compiled.definition.TimeoutSeconds!).toBeGreaterThan(QUOTA_WAIT_SECONDS + spaceport.stages.reduce((n, s) => n + s.timeout.seconds, 0));
  });
});

describe("job requests", () => {
  const compiled = compile(spaceport, testTarget());

  it("every job runs network-isolated, with its own stage's role and the environment's tag", () => {
    for (const stage of compiled.stages) {
      if (stage.kind === "processing") expect(stage.request.NetworkConfig).toEqual({ EnableNetworkIsolation: true });
      else expect(stage.request.EnableNetworkIsolation).toBe(true);
      expect(stage.request.RoleArn).toBe(`arn:aws:iam::123456789012:role/spaceport-test-${stage.name}-sagemaker`);
      expect(stage.request.Tags).toContainEqual({ Key: "spaceport:environment", Value: "test" });
    }
  });
});

describe("daily capacity and admission", () => {
  const prod = readStackConfigFile(resolve(root, "Pulumi.prod.yaml"), "prod");

  it("quota × 24 h ÷ expected duration, the tightest pool decides", () => {
    const capacity = dailyCapacity(spaceport, prod);
    // 1 × ml.g4dn.xlarge, 90 min for the slowest quality (high) → 16; sfm (1 × 30 min) allows 48, compressor (2 × 15 min) 192.
    expect(capacity.jobsPerDay).toBe(16);
    expect(capacity.bottleneck!.quota).toBe("ml.g4dn.xlarge for training job usage");
    // The compressor's pool counts it twice a job: its final run and its preview run.
    expect(capacity.pools.map((p) => Math.round(p.jobsPerDay)).sort((a, b) => a - b)).toEqual([16, 48, 96]);
  });

  it("the admission limit never exceeds capacity, and is shown by describe", () => {
    expect(admissionLimit(spaceport, prod)).toEqual({ capacityPerDay: 16, jobsPerDay: 16 });
    const generous = { ...prod, apiRateLimit: { ...prod.apiRateLimit, jobsPerDay: 50 } };
    expect(admissionLimit(spaceport, generous)).toEqual({ capacityPerDay: 16, jobsPerDay: 16, loweredFrom: 50 });
    expect(admissionLimit(spaceport, { ...prod, apiRateLimit: { ...prod.apiRateLimit, jobsPerDay: 5 } }).jobsPerDay).toBe(5);
    expect(describePipeline(spaceport, "prod", generous, false)).toMatch(/Capacity: 16 jobs a day[\s\S]*Admission: 16 jobs per API client per day \(spaceport:apiRateLimit\.jobsPerDay 50 is above capacity\)/);
  });

  it("a submitter is warned once the jobs ahead are a day of work or more", () => {
    expect(queueWarning(11, 12)).toBeUndefined();
    expect(queueWarning(12, 12)).toMatch(/12 jobs are queued or running ahead of this one, about 24 h of work .* may wait more than a day/);
  });
});

describe("new settings fail naming the key", () => {
  const base = { region: "us-west-2", quotas: PROD_QUOTAS, sesSender: "a@example.com", alarmEmail: "b@example.com" };
  it.each([
    ["quotas", { quotas: [{ instanceType: "ml.g4dn.xlarge", jobKind: "spot", count: 1 }] }, /spaceport:quotas\.0\.jobKind: must be one of processing, training, spot-training/],
    ["uploadRetentionDays", { uploadRetentionDays: 0 }, /spaceport:uploadRetentionDays/],
    ["sageMakerLogRetentionDays", { sageMakerLogRetentionDays: 45 }, /spaceport:sageMakerLogRetentionDays: must be a retention CloudWatch Logs offers/],
    ["apiRateLimit.totalBurst", { apiRateLimit: { ratePerSecond: 1, burst: 1, totalBurst: 0 } }, /spaceport:apiRateLimit\.totalBurst/],
  ])("%s", (_, extra, message) => {
    expect(() => parseEnvironmentConfig("prod", { ...base, ...extra })).toThrow(message);
  });

  it("defaults: uploads kept 3 days, SageMaker log groups unmanaged, stage ceiling 50/100", () => {
    const config = parseEnvironmentConfig("prod", base);
    expect(config).toMatchObject({ uploadRetentionDays: 3, apiRateLimit: { ratePerSecond: 2, burst: 5, totalRatePerSecond: 50, totalBurst: 100 } });
    expect(config.sageMakerLogRetentionDays).toBeUndefined();
  });

  it("a stage that asks for the network must say why", () => {
    const stage = { ...spaceport.stages[0]!, networkAccess: { reason: " " } };
    expect(() => definePipeline({ name: "p", stages: [stage, spaceport.stages[1]!, spaceport.stages[2]!], delivery: spaceport.delivery as never })).toThrow(
      /stage "sfm", networkAccess\.reason: say why the stage needs the network/,
    );
  });
});
