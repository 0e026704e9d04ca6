/**
 * `JobStateMachine`: the pipeline compiled for this environment, deployed. The SageMaker
 * execution role (the containers' own access), the state machine's role, its log group, and
 * the state machine whose definition is exactly the compiler's output for the deployed names.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Pipeline } from "../../define.js";
import type { EnvironmentConfig } from "../../environment.js";
import { sageMakerExecutionPolicy, stateMachinePolicy, type AwsContext } from "../policies.js";
import { compileFor } from "../target.js";
import { assumeRolePolicy, childOptions, json, transformed, type ComponentContext, type Transform } from "./component.js";

export interface JobStateMachineArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  readonly pipeline: Pipeline;
  readonly environment: string;
  readonly config: Pick<EnvironmentConfig, "region" | "quotas" | "instanceOverrides">;
  /** The state machine's name, known before it exists (functions refer to it). */
  readonly stateMachineName: string;
  readonly processingBucket: pulumi.Input<string>;
  /** Image URI per stage (`<repository>@sha256:<digest>`). */
  readonly images: Readonly<Record<string, pulumi.Input<string>>>;
  /** The stage images' repositories: what the SageMaker role may pull. */
  readonly repositoryArns: readonly pulumi.Input<string>[];
  readonly notifyFunctionArn: pulumi.Input<string>;
  /** Days CloudWatch keeps the state machine's logs. */
  readonly logRetentionDays: number;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    readonly stateMachine?: Transform<aws.sfn.StateMachineArgs>;
    readonly sageMakerRole?: Transform<aws.iam.RoleArgs>;
  };
}

export class JobStateMachine extends pulumi.ComponentResource {
  readonly sageMakerRole: aws.iam.Role;
  readonly stateMachine: aws.sfn.StateMachine;
  /** The deployed ASL, exactly. */
  readonly definitionJson: pulumi.Output<string>;
  /** The compile target the deployed ASL was compiled from (for the local runtime and reviews). */
  readonly compileTarget: pulumi.Output<string>;

  constructor(name: string, args: JobStateMachineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobStateMachine", name, {}, opts);
    const { context, pipeline, environment } = args;
    const child = (extra?: pulumi.CustomResourceOptions) => childOptions(this, args.formerParent, extra);
    this.sageMakerRole = new aws.iam.Role(
      ...transformed(`${context.name}-sagemaker`, { description: `SageMaker jobs of ${context.prefix}`, assumeRolePolicy: assumeRolePolicy("sagemaker.amazonaws.com"), tags: context.tags }, child(), args.transform?.sageMakerRole),
    );
    const sageMakerPolicy = new aws.iam.RolePolicy(
      `${context.name}-sagemaker-policy`,
      {
        role: this.sageMakerRole.id,
        policy: json(
          pulumi
            .all([args.aws, args.processingBucket, pulumi.all([...args.repositoryArns])])
            .apply(([c, b, repositoryArns]) => sageMakerExecutionPolicy({ ctx: c, pipeline, bucket: b, repositoryArns })),
        ),
      },
      child(),
    );
    const target = pulumi
      .all([args.processingBucket, this.sageMakerRole.arn, pulumi.all(args.images), args.notifyFunctionArn])
      .apply(([b, roleArn, images, notifyArn]) => ({ bucket: b, roleArn, images, notifyFunction: notifyArn }));
    this.definitionJson = target.apply((names) => compileFor(pipeline, environment, args.config, names).definitionJson);
    this.compileTarget = target.apply((names) => JSON.stringify({ environment, names }));
    const role = this.stateMachineRole(args);
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
        child({ dependsOn: [role.policy, sageMakerPolicy] }),
        args.transform?.stateMachine,
      ),
    );
    this.registerOutputs({ stateMachineArn: this.stateMachine.arn });
  }

  private stateMachineRole(args: JobStateMachineArgs) {
    const { context, pipeline } = args;
    const child = () => childOptions(this, args.formerParent);
    const role = new aws.iam.Role(
      `${context.name}-states`,
      {
        description: `${context.prefix} state machine`,
        assumeRolePolicy: args.aws.apply((c) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Principal: { Service: "states.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": c.accountId } } },
            ],
          }),
        ),
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
            .all([args.aws, this.sageMakerRole.arn, args.notifyFunctionArn])
            .apply(([c, sageMakerRoleArn, notifyFunctionArn]) => stateMachinePolicy({ ctx: c, pipeline, sageMakerRoleArn, notifyFunctionArn })),
        ),
      },
      child(),
    );
    const logs = new aws.cloudwatch.LogGroup(
      `${context.name}-states-logs`,
      { name: `/aws/vendedlogs/states/${args.stateMachineName}`, retentionInDays: args.logRetentionDays, tags: context.tags },
      child(),
    );
    return { role, policy, logs };
  }
}
