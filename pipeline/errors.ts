/** One problem in a pipeline definition, located by stage and field. */
export interface PipelineIssue {
  /** The stage's name, or "(pipeline)" for pipeline-wide problems. */
  readonly stage: string;
  /** The field, as written in the stage definition (e.g. "instance.type", "inputs.sfm"). */
  readonly field: string;
  readonly message: string;
}

export class PipelineValidationError extends Error {
  constructor(
    readonly pipeline: string,
    readonly issues: readonly PipelineIssue[],
  ) {
    super(
      `pipeline "${pipeline}" is invalid:\n` +
        issues.map((i) => `  - stage "${i.stage}", ${i.field}: ${i.message}`).join("\n"),
    );
    this.name = "PipelineValidationError";
  }
}
