/**
 * ObjectStore on S3 (SDK v3). `publicUrl` builds a link under the delivery base URL (the
 * stack's CloudFront distribution in front of the processing bucket's `jobs/<id>/delivery/`),
 * since presigned URLs signed with a Lambda role's session credentials expire within hours.
 */
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { ObjectInfo, ObjectStore } from "../../ports.js";

const status = (error: unknown): number | undefined => (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
const named = (error: unknown, ...names: string[]): boolean => names.includes((error as Error)?.name);

/** `CopySource` is `bucket/key` with the key URL-encoded (slashes kept). */
export const copySource = (bucket: string, key: string): string => `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;

export class S3ObjectStore implements ObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly options: {
      /** e.g. `https://d111111abcdef8.cloudfront.net`: publicUrl = base + "/" + key (bucket implied). */
      readonly publicBaseUrl?: string;
      readonly region: string;
      /**
       * The stack's account: every request carries it as ExpectedBucketOwner (and a copy as
       * ExpectedSourceBucketOwner), so a bucket name that now belongs to another account is
       * refused (403) instead of read from or written to.
       */
      readonly expectedBucketOwner?: string;
    },
  ) {}

  private get owner(): { ExpectedBucketOwner?: string } {
    return this.options.expectedBucketOwner ? { ExpectedBucketOwner: this.options.expectedBucketOwner } : {};
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...this.owner }));
      return {
        size: out.ContentLength ?? 0,
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
      };
    } catch (error) {
      if (named(error, "NotFound", "NoSuchKey") || status(error) === 404) return undefined;
      throw error;
    }
  }

  async getText(bucket: string, key: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...this.owner }));
      return (await out.Body?.transformToString("utf-8")) ?? "";
    } catch (error) {
      if (named(error, "NoSuchKey", "NotFound") || status(error) === 404) return undefined;
      throw error;
    }
  }

  async putText(bucket: string, key: string, body: string, contentType = "text/plain; charset=utf-8"): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, ...this.owner }));
  }

  async putTextIfAbsent(bucket: string, key: string, body: string, contentType = "text/plain; charset=utf-8"): Promise<boolean> {
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: "*", ...this.owner }));
      return true;
    } catch (error) {
      // 412: the object exists. 409: a concurrent conditional write to the same key is in flight.
      if (named(error, "PreconditionFailed", "ConditionalRequestConflict") || status(error) === 412 || status(error) === 409) return false;
      throw error;
    }
  }

  async copyIfAbsent(from: { bucket: string; key: string }, to: { bucket: string; key: string }): Promise<boolean> {
    // REPLACE with no tags: a copied input must not inherit a retention tag (e.g. the
    // intermediate-artifact tag) from its source, or the job's input could expire early.
    try {
      await this.s3.send(
        new CopyObjectCommand({
          Bucket: to.bucket,
          Key: to.key,
          CopySource: copySource(from.bucket, from.key),
          TaggingDirective: "REPLACE",
          IfNoneMatch: "*",
          ...this.owner,
          ...(this.options.expectedBucketOwner ? { ExpectedSourceBucketOwner: this.options.expectedBucketOwner } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (named(error, "PreconditionFailed", "ConditionalRequestConflict") || status(error) === 412 || status(error) === 409) return false;
      throw error;
    }
  }

  async list(bucket: string, prefix: string): Promise<{ key: string; size: number }[]> {
    const found: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const out = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...this.owner, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const item of out.Contents ?? []) if (item.Key !== undefined) found.push({ key: item.Key, size: item.Size ?? 0 });
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  async publicUrl(bucket: string, key: string): Promise<string> {
    const path = key.split("/").map(encodeURIComponent).join("/");
    if (this.options.publicBaseUrl) return `${this.options.publicBaseUrl.replace(/\/+$/, "")}/${path}`;
    return `https://${bucket}.s3.${this.options.region}.amazonaws.com/${path}`;
  }
}
