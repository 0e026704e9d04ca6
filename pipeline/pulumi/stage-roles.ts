/**
 * The per-stage SageMaker execution roles as Pulumi resources (policies: roles.ts). The roles
 * exist before the compile (their ARNs are in the requests); each role's policy is derived
 * from the compiled request afterwards, so a stage's access follows its definition.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CompiledPipeline } from "../compile.js";
import type { Pipeline } from "../define.js";
import type { AwsContext } from "./policies.js";
import { sageMakerTrustPolicy, stageExecutionPolicy } from "./roles.js";

export function stageRoles(
  name: string,
  input: { pipeline: Pipeline; prefix: string; accountId: pulumi.Output<string>; tags: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): Record<string, aws.iam.Role> {
  return Object.fromEntries(
    input.pipeline.stages.map((stage) => [
      stage.name,
      new aws.iam.Role(
        `${name}-${stage.name}-sagemaker`,
        {
          description: `SageMaker jobs of stage ${stage.name} of ${input.prefix}`,
          assumeRolePolicy: input.accountId.apply(sageMakerTrustPolicy),
          tags: { ...input.tags, "spaceport:stage": stage.name },
        },
        opts,
      ),
    ]),
  );
}

export function stageRolePolicies(
  name: string,
  input: {
    roles: Record<string, aws.iam.Role>;
    compiled: pulumi.Output<CompiledPipeline>;
    ctx: pulumi.Output<AwsContext>;
    bucket: pulumi.Output<string>;
    /** Each stage image's repository. */
    repositoryArns: Readonly<Record<string, pulumi.Input<string>>>;
  },
  opts: pulumi.CustomResourceOptions,
): aws.iam.RolePolicy[] {
  return Object.entries(input.roles).map(
    ([stage, role]) =>
      new aws.iam.RolePolicy(
        `${name}-${stage}-sagemaker-policy`,
        {
          role: role.id,
          policy: pulumi
            .all([input.ctx, input.compiled, input.bucket, input.repositoryArns[stage]!])
            .apply(([ctx, compiled, bucket, repositoryArn]) => JSON.stringify(stageExecutionPolicy({ ctx, compiled, stage, bucket, repositoryArn }))),
        },
        opts,
      ),
  );
}
