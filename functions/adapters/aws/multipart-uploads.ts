/**
 * MultipartUploads on S3 (SDK v3): CreateMultipartUpload, presigned UploadPart URLs the browser
 * PUTs to directly (the bytes never pass through Lambda), ListParts, Complete/AbortMultipartUpload.
 * The uploads bucket's lifecycle rule aborts what a browser abandons after a day.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { MultipartTarget, MultipartUploads, UploadedPart } from "../../ports.js";

/** The presigner's signature, so tests can pass their own. */
export type Presign = (s3: S3Client, command: UploadPartCommand, options: { expiresIn: number }) => Promise<string>;

const missing = (error: unknown): boolean =>
  ["NoSuchUpload", "NotFound"].includes((error as Error)?.name) || (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

export class S3MultipartUploads implements MultipartUploads {
  constructor(
    private readonly s3: S3Client,
    private readonly presign: Presign = getSignedUrl as unknown as Presign,
  ) {}

  async create(bucket: string, key: string, contentType: string): Promise<string> {
    const out = await this.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType }));
    if (!out.UploadId) throw new Error(`S3 answered CreateMultipartUpload for s3://${bucket}/${key} without an UploadId`);
    return out.UploadId;
  }

  async partUrls(target: MultipartTarget, partNumbers: readonly number[], expiresSeconds: number): Promise<string[]> {
    return Promise.all(
      partNumbers.map((partNumber) =>
        this.presign(this.s3, new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: target.uploadId, PartNumber: partNumber }), {
          expiresIn: expiresSeconds,
        }),
      ),
    );
  }

  async listParts(target: MultipartTarget): Promise<UploadedPart[] | undefined> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    try {
      do {
        const out = await this.s3.send(
          new ListPartsCommand({ Bucket: target.bucket, Key: target.key, UploadId: target.uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
        );
        for (const part of out.Parts ?? []) {
          if (part.PartNumber !== undefined && part.ETag !== undefined) parts.push({ partNumber: part.PartNumber, size: part.Size ?? 0, etag: part.ETag });
        }
        marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
      } while (marker);
    } catch (error) {
      if (missing(error)) return undefined;
      throw error;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async complete(target: MultipartTarget, parts: readonly UploadedPart[]): Promise<void> {
    await this.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: target.uploadId,
        MultipartUpload: { Parts: parts.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })) },
      }),
    );
  }

  async abort(target: MultipartTarget): Promise<void> {
    try {
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: target.uploadId }));
    } catch (error) {
      if (!missing(error)) throw error;
    }
  }
}
