/**
 * The stage contract (images/README.md) that every stage program and both runtimes share: the
 * container paths, the failure file and its length limit, the progress lines. No imports: the
 * compressor image's entry program uses this file as is. Python stages use its twin,
 * images/shared/stage_contract.py.
 */

/** Where SageMaker mounts a job's container contract. */
export const OPT_ML = "/opt/ml";
export const PROCESSING_ROOT = `${OPT_ML}/processing`;
export const CHECKPOINTS_PATH = `${OPT_ML}/checkpoints`;

/**
 * Where a training stage writes an early output while it runs: `/opt/ml/checkpoints/early/<output>/`,
 * the folder named to it in `SPACEPORT_EARLY_OUTPUT_<OUTPUT>` (stages without the declaration get
 * no variable and write none). The files go first, each written then renamed; the marker
 * EARLY_OUTPUT_COMPLETE last: the pipeline consumes the folder only once the marker is there.
 */
export const EARLY_OUTPUTS_PATH = `${CHECKPOINTS_PATH}/early`;
export const EARLY_OUTPUT_COMPLETE = "_complete";
export const earlyOutputVariable = (output: string): string => `SPACEPORT_EARLY_OUTPUT_${output.toUpperCase().replace(/-/g, "_")}`;
/** Set (to "1") for a stage run on early inputs: what it writes is a preview, and it says so. */
export const PREVIEW_VARIABLE = "SPACEPORT_PREVIEW";

/** Files under `/opt/ml/output/` holding one plain sentence on failure: training reads `failure`, processing `message`. */
export const FAILURE_FILES = ["failure", "message"] as const;

/** SageMaker keeps the first 1024 characters of a failure reason; every writer and reader cuts there. */
export const MAX_REASON_LENGTH = 1024;

/** A reason of at most MAX_REASON_LENGTH characters: a longer one is cut and ends in "…". */
export function truncateReason(text: string): string {
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/** `progress: 42.0% what`: a stage's progress line on stdout. */
export const PROGRESS_LINE = /progress:\s*([0-9]+(?:\.[0-9]+)?)%\s*(.*)$/;
/** The same lines as a SageMaker metric (training jobs' MetricDefinitions). */
/** Set in a delivering stage's environment: how many days its links work (the stack's delivery retention). */
export const LINK_DAYS_ENV = "SPACEPORT_LINK_DAYS";
/** Set by the local runtime: the links work while this machine serves them (wins over LINK_DAYS_ENV). */
export const LINKS_WHILE_SERVED_ENV = "SPACEPORT_LINKS_WHILE_SERVED";

export const PROGRESS_METRIC = { Name: "progress", Regex: "progress: ([0-9.]+)%" } as const;

export function progressLine(percent: number, what: string): string {
  return `progress: ${percent.toFixed(1)}% ${what}`;
}
