/**
 * SageMaker writes every job's logs to two account-wide log groups that, left to SageMaker,
 * keep them forever. With `spaceport:sageMakerLogRetentionDays` the stack manages both with
 * that retention. They are shared by the whole account and region: set the key in one stack
 * per account and region, and if the groups already exist, adopt them first
 * (`pulumi import aws:cloudwatch/logGroup:LogGroup <name> /aws/sagemaker/TrainingJobs`).
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Pipeline } from "../define.js";

export const SAGEMAKER_LOG_GROUPS = { processing: "/aws/sagemaker/ProcessingJobs", training: "/aws/sagemaker/TrainingJobs" } as const;

export function sageMakerLogGroups(
  name: string,
  input: { pipeline: Pipeline; retentionDays: number | undefined; tags: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.LogGroup[] {
  if (input.retentionDays === undefined) return [];
  const kinds = [...new Set(input.pipeline.stages.map((s) => s.kind))].sort();
  return kinds.map(
    (kind) =>
      new aws.cloudwatch.LogGroup(
        `${name}-sagemaker-${kind}-logs`,
        { name: SAGEMAKER_LOG_GROUPS[kind], retentionInDays: input.retentionDays!, tags: input.tags },
        // Shared with every SageMaker job of the account: never deleted with this stack.
        { ...opts, retainOnDelete: true },
      ),
  );
}
