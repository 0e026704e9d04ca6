/**
 * `JobStateMachine`: the pipeline compiled for this environment, deployed. One SageMaker
 * execution role per stage (the containers' own access, derived from the compiled requests:
 * stage-roles.ts), the state machine's role, its log group, and the state machine whose
 * definition is exactly the compiler's output for the deployed names.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Pipeline } from "../../define.js";
import { serviceTrustPolicy, stateMachinePolicy, type AwsContext } from "../policies.js";
import { stageRolePolicies, stageRoles } from "../stage-roles.js";
import { compileFor, type TargetConfig } from "../target.js";
import { childOptions, json, transformed, type ComponentContext, type Transform } from "./component.js";

export interface JobStateMachineArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  readonly pipeline: Pipeline;
  readonly environment: string;
  readonly config: TargetConfig;
  /** The state machine's name, known before it exists (functions refer to it). */
  readonly stateMachineName: string;
  readonly processingBucket: pulumi.Input<string>;
  /** Image URI per stage (`<repository>@sha256:<digest>`). */
  readonly images: Readonly<Record<string, pulumi.Input<string>>>;
  /** Each stage image's repository: what that stage's SageMaker role may pull. */
  readonly repositoryArns: Readonly<Record<string, pulumi.Input<string>>>;
  readonly notifyFunctionArn: pulumi.Input<string>;
  /** Days CloudWatch keeps the state machine's logs. */
  readonly logRetentionDays: number;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    readonly stateMachine?: Transform<aws.sfn.StateMachineArgs>;
  };
}

export class JobStateMachine extends pulumi.ComponentResource {
  /** SageMaker execution role per stage. */
  readonly sageMakerRoles: Record<string, aws.iam.Role>;
  readonly stateMachine: aws.sfn.StateMachine;
  /** The deployed ASL, exactly. */
  readonly definitionJson: pulumi.Output<string>;
  /** The compile target the deployed ASL was compiled from (for the local runtime and reviews). */
  readonly compileTarget: pulumi.Output<string>;

  constructor(name: string, args: JobStateMachineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobStateMachine", name, {}, opts);
    const { context, pipeline, environment } = args;
    const child = (extra?: pulumi.CustomResourceOptions) => childOptions(this, args.formerParent, extra);
    this.sageMakerRoles = stageRoles(context.name, { pipeline, prefix: context.prefix, accountId: args.aws.apply((c) => c.accountId), tags: { ...context.tags } }, child());
    const roleArns = pulumi.all(Object.fromEntries(Object.entries(this.sageMakerRoles).map(([stage, role]) => [stage, role.arn])));
    const target = pulumi
      .all([args.processingBucket, roleArns, pulumi.all(args.images), args.notifyFunctionArn])
      .apply(([b, arns, images, notifyArn]) => ({ bucket: b, roleArns: arns, images, notifyFunction: notifyArn }));
    const compiled = target.apply((names) => compileFor(pipeline, environment, args.config, names));
    this.definitionJson = compiled.apply((c) => c.definitionJson);
    const sageMakerPolicies = stageRolePolicies(
      context.name,
      { roles: this.sageMakerRoles, compiled, ctx: args.aws, bucket: pulumi.output(args.processingBucket), repositoryArns: args.repositoryArns },
      child(),
    );
    this.compileTarget = target.apply((names) => JSON.stringify({ environment, names }));
    const role = this.stateMachineRole(args, roleArns);
    this.stateMachine = new aws.sfn.StateMachine(
      ...transformed(
        `${context.name}-states`,
        {
          name: args.stateMachineName,
          type: "STANDARD",
          roleArn: role.role.arn,
          definition: this.definitionJson,
          // Execution data holds submitters' email addresses: log events and errors, not data.
          loggingConfiguration: { level: "ALL", includeExecutionData: false, logDestination: pulumi.interpolate`${role.logs.arn}:*` },
          tracingConfiguration: { enabled: true },
          tags: context.tags,
        },
        // The role must hold its permissions before Step Functions checks logging and the tasks.
        child({ dependsOn: [role.policy, ...sageMakerPolicies], deleteBeforeReplace: true }),
        args.transform?.stateMachine,
      ),
    );
    this.registerOutputs({ stateMachineArn: this.stateMachine.arn });
  }

  private stateMachineRole(args: JobStateMachineArgs, sageMakerRoleArns: pulumi.Output<Record<string, string>>) {
    const { context, pipeline } = args;
    const child = () => childOptions(this, args.formerParent);
    const role = new aws.iam.Role(
      `${context.name}-states`,
      {
        description: `${context.prefix} state machine`,
        assumeRolePolicy: args.aws.apply((c) => serviceTrustPolicy("states.amazonaws.com", c.accountId)),
        tags: context.tags,
      },
      child(),
    );
    const policy = new aws.iam.RolePolicy(
      `${context.name}-states-policy`,
      {
        role: role.id,
        policy: json(
          pulumi
            .all([args.aws, sageMakerRoleArns, args.notifyFunctionArn, args.processingBucket])
            .apply(([c, arns, notifyFunctionArn, processingBucket]) =>
              stateMachinePolicy({ ctx: c, pipeline, environment: args.environment, sageMakerRoleArns: Object.values(arns), notifyFunctionArn, processingBucket }),
            ),
        ),
      },
      child(),
    );
    const logs = new aws.cloudwatch.LogGroup(
      `${context.name}-states-logs`,
      { name: `/aws/vendedlogs/states/${args.stateMachineName}`, retentionInDays: args.logRetentionDays, tags: context.tags },
      childOptions(this, args.formerParent, { deleteBeforeReplace: true }),
    );
    return { role, policy, logs };
  }
}
