/**
 * The job layout in the processing bucket (DESIGN.md, "Stage contracts"): one prefix per job,
 * one folder per stage output. Both runtimes and the handlers derive paths from here.
 */
export const JOB_ID = /^\d{8}-\d{6}-[0-9a-f]{8}$/;
export const JOB_ID_LENGTH = 24;

/** Sortable, readable and short enough for SageMaker job names: `20261126-093012-1a2b3c4d`. */
export function newJobId(now: Date, randomHex8: string): string {
  if (!/^[0-9a-f]{8}$/.test(randomHex8)) throw new Error("randomHex8 must be 8 lowercase hex digits");
  const iso = now.toISOString(); // 2026-11-26T09:30:12.345Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${randomHex8}`;
}

export const jobPrefix = (jobId: string): string => `jobs/${jobId}/`;
export const jobInputKey = (jobId: string, fileName = "photos.zip"): string => `${jobPrefix(jobId)}input/${fileName}`;
export const stageOutputPrefix = (jobId: string, output: string): string => `${jobPrefix(jobId)}${output}/`;
export const checkpointPrefix = (jobId: string, stage: string): string => `${jobPrefix(jobId)}checkpoints/${stage}/`;

/** SageMaker job names: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, unique per account and region forever. */
export const SAGEMAKER_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** `<jobId>-<stage>-<attempt>`: a retry after a job was really created gets the next attempt number. */
export const sageMakerJobName = (jobId: string, stage: string, attempt: number): string => `${jobId}-${stage}-${attempt}`;
export const MAX_ATTEMPT_DIGITS = 2;

export function parseS3Uri(uri: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`not an s3:// URI: ${uri}`);
  return { bucket: match[1]!, key: match[2]! };
}

/**
 * The only objects anyone may fetch without a key: a job's delivery (`jobs/<id>/<delivery>/...`),
 * what the AWS stack's CDN serves (its `jobs/*\/<delivery>/*` behaviour) and `/files` locally.
 */
export function isDeliveryKey(key: string, deliveryOutput: string): boolean {
  const parts = key.split("/");
  return parts.length >= 4 && parts[0] === "jobs" && JOB_ID.test(parts[1]!) && parts[2] === deliveryOutput && parts.slice(3).every((p) => p !== "");
}
