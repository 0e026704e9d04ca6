/**
 * JobControl on one machine: the local execution is aborted like StopExecution (no further
 * state runs), then the stage's program is stopped like StopProcessingJob / StopTrainingJob.
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

  async stopStageJob(_kind: "processing" | "training", jobName: string): Promise<void> {
    await this.emulator.stop(jobName);
  }
}
