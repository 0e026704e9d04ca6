/**
 * JobControl on AWS: SageMaker StopProcessingJob / StopTrainingJob, Step Functions
 * StopExecution and RedriveExecution. Stopping a job that has already ended
 * (ValidationException) or was never created (ResourceNotFound) is not an error.
 */
import { StopProcessingJobCommand, StopTrainingJobCommand, type SageMakerClient } from "@aws-sdk/client-sagemaker";
import { RedriveExecutionCommand, StopExecutionCommand, type SFNClient } from "@aws-sdk/client-sfn";
import type { JobControl } from "../../ports.js";
import { executionArn } from "./executions.js";

const named = (error: unknown, ...names: string[]): boolean => names.includes((error as Error)?.name);

export class AwsJobControl implements JobControl {
  constructor(
    private readonly sfn: SFNClient,
    private readonly sageMaker: SageMakerClient,
    private readonly stateMachineArn: string,
  ) {}

  async stopExecution(name: string, cause: string): Promise<void> {
    await this.sfn.send(new StopExecutionCommand({ executionArn: executionArn(this.stateMachineArn, name), error: "Spaceport.Cancelled", cause: cause.slice(0, 32_000) }));
  }

  async stopStageJob(kind: "processing" | "training", jobName: string): Promise<boolean> {
    try {
      if (kind === "processing") await this.sageMaker.send(new StopProcessingJobCommand({ ProcessingJobName: jobName }));
      else await this.sageMaker.send(new StopTrainingJobCommand({ TrainingJobName: jobName }));
      return true;
    } catch (error) {
      if (named(error, "ResourceNotFound")) return false;
      if (named(error, "ValidationException")) return true; // it has already ended
      throw error;
    }
  }

  async redrive(name: string): Promise<void> {
    await this.sfn.send(new RedriveExecutionCommand({ executionArn: executionArn(this.stateMachineArn, name) }));
  }
}
