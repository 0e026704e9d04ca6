/**
 * The local runtime's data directory (default `.spaceport/`, `--data-dir`, `SPACEPORT_DATA_DIR`):
 *
 *   buckets/<bucket>/<key>        local S3: `s3://<bucket>/<key>` is this file
 *   sagemaker/<jobName>/opt/ml/   one folder per SageMaker job: the container contract, plus log.txt
 *   outbox/                       emails as .eml files when SPACEPORT_SMTP_URL is not set
 *   uploads/                      ZIPs that `spaceport run` made from folders
 *   samples/                      the generated sample survey
 *   spaceport.db                  job state (SQLite)
 */
import { mkdirSync } from "node:fs";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { parseS3Uri } from "../layout.js";

export const DEFAULT_DATA_DIR = ".spaceport";

export function resolveDataDir(option: string | undefined, cwd = process.cwd(), env = process.env): string {
  return resolve(cwd, option ?? env["SPACEPORT_DATA_DIR"] ?? DEFAULT_DATA_DIR);
}

export class DataDir {
  readonly buckets: string;
  readonly sagemaker: string;
  readonly outbox: string;
  readonly uploads: string;
  readonly samples: string;
  readonly database: string;

  constructor(readonly root: string) {
    this.buckets = join(root, "buckets");
    this.sagemaker = join(root, "sagemaker");
    this.outbox = join(root, "outbox");
    this.uploads = join(root, "uploads");
    this.samples = join(root, "samples");
    this.database = join(root, "spaceport.db");
    for (const dir of [root, this.buckets, this.sagemaker, this.uploads]) mkdirSync(dir, { recursive: true });
  }

  /** Folder of a bucket. Bucket names are S3 names, so they never hold `/` or `..`. */
  bucketDir(bucket: string): string {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
      throw new Error(`not a valid S3 bucket name: ${JSON.stringify(bucket)}`);
    }
    return join(this.buckets, bucket);
  }

  /** `(bucket, key)` → file path; keys that would leave the bucket's folder are refused. */
  objectPath(bucket: string, key: string): string {
    const dir = this.bucketDir(bucket);
    const path = resolve(dir, key);
    if (path !== dir && !path.startsWith(dir + sep)) throw new Error(`object key leaves its bucket: ${JSON.stringify(key)}`);
    return path;
  }

  /** `s3://<bucket>/<key>` → file path (a folder for prefixes). */
  uriToPath(uri: string): string {
    const { bucket, key } = parseS3Uri(uri);
    return this.objectPath(bucket, key);
  }

  /** File path inside a bucket folder → `s3://<bucket>/<key>`. */
  pathToUri(path: string): string {
    const rel = relative(this.buckets, resolve(path));
    if (rel.startsWith("..") || isAbsolute(rel) || rel === "") throw new Error(`${path} is not inside ${this.buckets}`);
    const [bucket, ...rest] = rel.split(sep);
    return `s3://${bucket}/${rest.join("/")}`;
  }

  jobDir(sageMakerJobName: string): string {
    return join(this.sagemaker, sageMakerJobName);
  }
}
