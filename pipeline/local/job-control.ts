/**
 * JobControl on one machine: the stage's program stopped like StopProcessingJob /
 * StopTrainingJob, the local execution aborted like StopExecution (no further state runs) and
 * redriven like RedriveExecution.
 */
import type { JobControl } from "../../functions/ports.js";
import type { LocalExecutions } from "./executions.js";
import type { SageMakerEmulator } from "./sagemaker/emulator.js";

export class LocalJobControl implements JobControl {
  constructor(
    private readonly executions: LocalExecutions,
    private readonly emulator: SageMakerEmulator,
  ) {}

  async stopExecution(name: string): Promise<void> {
    await this.executions.stop(name);
  }

  async stopStageJob(_kind: "processing" | "training", jobName: string): Promise<boolean> {
    return this.emulator.stop(jobName);
  }

  async redrive(name: string): Promise<void> {
    await this.executions.redrive(name);
  }
}
