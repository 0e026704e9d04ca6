import { definePipeline, type CompileTarget, type EnvironmentConfig } from "../../pipeline/index.js";
import { compressor, gaussianSplatting, sfm, spaceport } from "../../stages/spaceport.js";

/** Spaceport's stages without their early output and early input: the pipeline as one sequence of stages. */
export function spaceportWithoutEarly() {
  return definePipeline({
    name: spaceport.name,
    stages: [sfm, { ...gaussianSplatting, earlyOutputs: {} }, { ...compressor, earlyInputs: {} }],
    delivery: compressor.output("delivery"),
  });
}

export const PROD_QUOTAS: EnvironmentConfig["quotas"] = [
  { instanceType: "ml.g4dn.xlarge", jobKind: "training", count: 1 },
  { instanceType: "ml.c6i.2xlarge", jobKind: "processing", count: 1 },
  { instanceType: "ml.c6i.4xlarge", jobKind: "processing", count: 2 },
];

export function testTarget(overrides: Partial<CompileTarget> = {}): CompileTarget {
  return {
    environment: "test",
    config: { region: "us-west-2", quotas: PROD_QUOTAS, instanceOverrides: {} },
    bucket: "spaceport-test-processing",
    roleArns: Object.fromEntries(spaceport.stages.map((s) => [s.name, `arn:aws:iam::123456789012:role/spaceport-test-${s.name}-sagemaker`])),
    images: Object.fromEntries(spaceport.stages.map((s) => [s.name, `123456789012.dkr.ecr.us-west-2.amazonaws.com/${s.name}:test`])),
    notifyFunction: "arn:aws:lambda:us-west-2:123456789012:function:spaceport-test-notify",
    ...overrides,
  };
}

export const JOB_INPUT = {
  jobId: "20261126-093012-1a2b3c4d",
  inputUri: "s3://spaceport-test-processing/jobs/20261126-093012-1a2b3c4d/input/photos.zip",
  email: "pilot@example.com",
  options: { quality: "preview" },
};
