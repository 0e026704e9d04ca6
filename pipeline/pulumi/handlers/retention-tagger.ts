/**
 * Lambda handler (bundled by the stack): tags new intermediate objects of the processing
 * bucket `spaceport:retention=intermediate`, so the lifecycle rule expires them early.
 * See ../retention.ts for why. Only keys of intermediate folders are ever tagged.
 */
import { PutObjectTaggingCommand, S3Client } from "@aws-sdk/client-s3";
import {
  INTERMEDIATE,
  INTERMEDIATE_FOLDERS_VARIABLE,
  RETENTION_TAG,
  decodeS3EventKey,
  isIntermediateKey,
} from "../retention.js";

interface S3EventRecord {
  readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string } };
}

const client = new S3Client({});

export async function tagIntermediates(
  event: { Records?: readonly S3EventRecord[] },
  folders: readonly string[],
  s3: Pick<S3Client, "send"> = client,
): Promise<{ tagged: number; skipped: number }> {
  let tagged = 0;
  let skipped = 0;
  for (const record of event.Records ?? []) {
    const key = decodeS3EventKey(record.s3.object.key);
    if (!isIntermediateKey(key, folders)) {
      skipped++;
      continue;
    }
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: record.s3.bucket.name,
        Key: key,
        Tagging: { TagSet: [{ Key: RETENTION_TAG, Value: INTERMEDIATE }] },
      }),
    );
    tagged++;
  }
  return { tagged, skipped };
}

export async function handler(event: { Records?: readonly S3EventRecord[] }): Promise<{ tagged: number; skipped: number }> {
  const folders = (process.env[INTERMEDIATE_FOLDERS_VARIABLE] ?? "").split(",").filter(Boolean);
  if (folders.length === 0) throw new Error(`${INTERMEDIATE_FOLDERS_VARIABLE} is not set`);
  return tagIntermediates(event, folders);
}
