/**
 * Memory and timeout of each Lambda function: `PipelineStackArgs.functionSettings` overrides
 * these defaults per function (a field left out keeps its default). Every value is checked
 * against Lambda's limits here, naming the field, before anything is registered.
 */
export type FunctionId = "startJob" | "jobStatus" | "notify" | "retentionTagger" | "uploads" | "cancel" | "retry";

export interface FunctionSettings {
  /** Seconds, 1 to 900. */
  readonly timeout: number;
  /** MB, 128 to 10240. */
  readonly memorySize: number;
}

export const DEFAULT_FUNCTION_SETTINGS: Readonly<Record<FunctionId, FunctionSettings>> = {
  // HTTP APIs answer within 30 s; a large copy may finish after that, and a retry with the
  // same Idempotency-Key then finds the job already started.
  startJob: { timeout: 120, memorySize: 512 },
  // One DescribeExecution, one history read, a few log filters.
  jobStatus: { timeout: 15, memorySize: 256 },
  // Reads reports, renders and sends one email.
  notify: { timeout: 60, memorySize: 512 },
  // One PutObjectTagging per created object.
  retentionTagger: { timeout: 30, memorySize: 128 },
  // Presigns part URLs (no bytes pass through it); a complete lists up to 10 000 parts.
  uploads: { timeout: 30, memorySize: 256 },
  // The execution, one stop, one email.
  cancel: { timeout: 30, memorySize: 256 },
  // The execution and one RedriveExecution.
  retry: { timeout: 15, memorySize: 256 },
};

export function resolveFunctionSettings(overrides: Partial<Record<FunctionId, Partial<FunctionSettings>>> = {}): Record<FunctionId, FunctionSettings> {
  const out = {} as Record<FunctionId, FunctionSettings>;
  for (const id of Object.keys(DEFAULT_FUNCTION_SETTINGS) as FunctionId[]) {
    const settings = { ...DEFAULT_FUNCTION_SETTINGS[id], ...overrides[id] };
    if (!Number.isInteger(settings.timeout) || settings.timeout < 1 || settings.timeout > 900) {
      throw new Error(`functionSettings.${id}.timeout: must be a whole number of seconds from 1 to 900, got ${settings.timeout}`);
    }
    if (!Number.isInteger(settings.memorySize) || settings.memorySize < 128 || settings.memorySize > 10_240) {
      throw new Error(`functionSettings.${id}.memorySize: must be a whole number of MB from 128 to 10240, got ${settings.memorySize}`);
    }
    out[id] = settings;
  }
  for (const id of Object.keys(overrides)) {
    if (!(id in DEFAULT_FUNCTION_SETTINGS)) throw new Error(`functionSettings.${id}: no such function (${Object.keys(DEFAULT_FUNCTION_SETTINGS).join(", ")})`);
  }
  return out;
}
