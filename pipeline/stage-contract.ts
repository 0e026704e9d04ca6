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
