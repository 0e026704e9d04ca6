/**
 * The job layout: every key, name and tag of a job, in one place. One prefix per job in the
 * processing bucket, one folder per stage output; SageMaker job names and the tags on every
 * resource a job makes. The compiler, the IAM policies, both runtimes and the handlers derive
 * their paths, name patterns and tag keys from here.
 */
export const JOB_ID = /^\d{8}-\d{6}-[0-9a-f]{8}$/;
export const JOB_ID_LENGTH = 24;
/** Any job id, as an IAM/S3 glob (`?` is one character). */
export const JOB_ID_GLOB = "????????-??????-????????";

/** Sortable, readable and short enough for SageMaker job names: `20261126-093012-1a2b3c4d`. */
export function newJobId(now: Date, randomHex8: string): string {
  if (!/^[0-9a-f]{8}$/.test(randomHex8)) throw new Error("randomHex8 must be 8 lowercase hex digits");
  const iso = now.toISOString(); // 2026-11-26T09:30:12.345Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}-${randomHex8}`;
}

/** Every job's objects live under this prefix of the processing bucket. */
export const JOBS_PREFIX = "jobs/";
/** Folders of a job besides the stage outputs. */
export const JOB_FOLDERS = {
  /** The submitted photos ZIP, copied in by start-job (read only afterwards). */
  input: "input",
  /** Spot training checkpoints, one folder per stage. */
  checkpoints: "checkpoints",
  /** The notify function's "sent" markers. */
  status: "status",
} as const;

export const jobPrefix = (jobId: string): string => `${JOBS_PREFIX}${jobId}/`;
export const jobInputKey = (jobId: string, fileName = "photos.zip"): string => `${jobPrefix(jobId)}${JOB_FOLDERS.input}/${fileName}`;
export const stageOutputPrefix = (jobId: string, output: string): string => `${jobPrefix(jobId)}${output}/`;
export const checkpointPrefix = (jobId: string, stage: string): string => `${jobPrefix(jobId)}${JOB_FOLDERS.checkpoints}/${stage}/`;
export const statusPrefix = (jobId: string): string => `${jobPrefix(jobId)}${JOB_FOLDERS.status}/`;
/**
 * An early output of a training stage: written under its checkpoint folder (which SageMaker
 * copies to S3 while the job runs), `jobs/<jobId>/checkpoints/<stage>/early/<output>/`.
 */
export const earlyOutputPrefix = (jobId: string, stage: string, output: string): string => `${checkpointPrefix(jobId, stage)}early/${output}/`;
/** `s3://<bucket>/jobs/<jobId>/<output>/` */
export const stageOutputUri = (bucket: string, jobId: string, output: string): string => `s3://${bucket}/${stageOutputPrefix(jobId, output)}`;

/** Keys of one folder of every job, as an S3/IAM glob: `jobs/*\/<folder>/*` (or one file of it). */
export const everyJobFolder = (folder: string, file = "*"): string => `${JOBS_PREFIX}*/${folder}/${file}`;

const JOB_KEY = new RegExp(`^${JOBS_PREFIX}(${JOB_ID.source.slice(1, -1)})/([a-z0-9][a-z0-9-]*)/.`);

/** `jobs/<jobId>/<folder>/<rest>` → its job id and folder; undefined for any other key. */
export function parseJobKey(key: string): { jobId: string; folder: string } | undefined {
  const match = JOB_KEY.exec(key);
  return match ? { jobId: match[1]!, folder: match[2]! } : undefined;
}

/** SageMaker job names: `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`, unique per account and region forever. */
export const SAGEMAKER_JOB_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
export const SAGEMAKER_JOB_NAME_MAX = 63;
/** `<jobId>-<stage>-<attempt>`: a retry after a job was really created gets the next attempt number. */
export const sageMakerJobName = (jobId: string, stage: string, attempt: number | string): string => `${jobId}-${stage}-${attempt}`;
/** Every SageMaker job name of one stage, as an IAM glob. */
export const sageMakerJobNameGlob = (stage: string): string => sageMakerJobName(JOB_ID_GLOB, stage, "*");
export const MAX_ATTEMPT_DIGITS = 2;
/** A stage's early run (a preview) is named `<jobId>-<stage>-p<round>` (compile-early.ts), apart from its attempts. */
export const isPreviewJobName = (name: string): boolean => /-p\d+$/.test(name);

/** Tag keys on everything a pipeline deploys or a job creates. */
export const TAGS = {
  pipeline: "spaceport:pipeline",
  stage: "spaceport:stage",
  /** The job id, on each SageMaker job: how a job finds its execution. */
  job: "spaceport:job",
  environment: "spaceport:environment",
  /** A Lambda function's entry file. */
  entry: "spaceport:entry",
  /** Early expiry of intermediate artifacts (pipeline/pulumi/retention.ts). */
  retention: "spaceport:retention",
} as const;

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
