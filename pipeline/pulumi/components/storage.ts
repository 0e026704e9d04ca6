/**
 * `JobStorage`: the buckets of a pipeline. Uploads (ZIPs from the page and the website,
 * presigned multipart parts or PUT), processing (`jobs/<jobId>/...`, the API's own records) and
 * the operator's page (its static files, read by CloudFront only), all private, encrypted,
 * owner-enforced, with the CORS and lifecycle rules retention.ts explains. The uploads bucket's
 * CORS names the page's origin, known once its distribution exists: `allowUploadsFrom`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { JOBS_PREFIX, TAGS } from "../../layout.js";
import { bucketPolicy, type AwsContext } from "../policies.js";
import { INTERMEDIATE } from "../retention.js";
import { childOptions, json, transformed, type ComponentContext, type Transform } from "./component.js";

export interface JobStorageArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  /** Origins that may upload (uploads bucket) and load scene files (processing bucket). */
  readonly corsOrigins: readonly string[];
  /** Days uploads, inputs and deliveries live (at least 7). */
  readonly deliveryRetentionDays: number;
  /** Days an upload stays: start-job copies it into the job at submission. */
  readonly uploadRetentionDays: number;
  /** Days intermediate artifacts live (capped at deliveryRetentionDays). */
  readonly intermediateRetentionDays: number;
  /** Folders outside `jobs/` where the API keeps records, each with how long its objects live. */
  readonly apiState: readonly { readonly prefix: string; readonly expireAfterDays: number }[];
  /** Former parent of these resources (URN aliases). */
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    /** Each bucket (`<name>-uploads`, `<name>-processing`, `<name>-page`). */
    readonly bucket?: Transform<aws.s3.BucketArgs>;
    readonly lifecycle?: Transform<aws.s3.BucketLifecycleConfigurationArgs>;
  };
}

export interface StoredBucket {
  readonly bucket: aws.s3.Bucket;
  /** The public access block: bucket policies wait for it. */
  readonly block: aws.s3.BucketPublicAccessBlock;
}

type CorsRule = aws.types.input.s3.BucketCorsConfigurationCorsRule;
type LifecycleRule = aws.types.input.s3.BucketLifecycleConfigurationRule;

/** An upload a browser abandoned (closed, never completed) leaves nothing after a day. */
export const ABORT_UPLOADS: LifecycleRule = {
  id: "abort-incomplete-multipart-uploads",
  status: "Enabled",
  filter: { prefix: "" },
  abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
};

export class JobStorage extends pulumi.ComponentResource {
  readonly uploads: StoredBucket;
  readonly processing: StoredBucket;
  /** The operator's page: `app/index.html`, `app/app.js`, `app/config.json` (components/page.ts). */
  readonly page: StoredBucket;

  constructor(name: string, private readonly args: JobStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobStorage", name, {}, opts);
    this.uploads = this.bucket(args, "uploads",
      undefined,
      [
        // Submitted ZIPs are copied into the job (jobs/<id>/input/) at submission: the upload is needed only until then.
        { id: "expire-uploads", status: "Enabled", filter: { prefix: "" }, expiration: { days: args.uploadRetentionDays } },
        ABORT_UPLOADS,
      ],
    );
    this.processing = this.bucket(args, "processing",
      // Viewers elsewhere (the website) load scene files; CloudFront forwards Origin (CORS-S3Origin).
      [{ allowedMethods: ["GET", "HEAD"], allowedOrigins: [...args.corsOrigins], allowedHeaders: ["*"], exposeHeaders: ["ETag", "Content-Length", "Content-Range"], maxAgeSeconds: 86_400 }],
      processingLifecycle(args),
    );
    this.page = this.bucket(args, "page");
    // TLS only (the processing and page buckets' policies, which also let CloudFront in, are JobDelivery's and JobPage's).
    const { context } = args;
    new aws.s3.BucketPolicy(
      `${context.name}-uploads-policy`,
      { bucket: this.uploads.bucket.id, policy: json(pulumi.all([args.aws, this.uploads.bucket.bucket]).apply(([c, b]) => bucketPolicy({ ctx: c, bucket: b }))) },
      childOptions(this, args.formerParent, { dependsOn: [this.uploads.block] }),
    );
    this.registerOutputs({ uploadsBucket: this.uploads.bucket.bucket, processingBucket: this.processing.bucket.bucket, pageBucket: this.page.bucket.bucket });
  }

  /**
   * The uploads bucket's CORS: the page (and the configured origins) PUT parts straight from the
   * browser and read each part's ETag, which completing the upload needs.
   */
  allowUploadsFrom(pageOrigin: pulumi.Input<string>): void {
    const { name } = this.args.context;
    const rule = { allowedMethods: ["PUT", "POST", "GET", "HEAD"], allowedHeaders: ["*"], exposeHeaders: ["ETag"], maxAgeSeconds: 3600 };
    const corsRules = pulumi.output(pageOrigin).apply((origin) => [{ ...rule, allowedOrigins: [...new Set([origin, ...this.args.corsOrigins])] }]);
    new aws.s3.BucketCorsConfiguration(`${name}-uploads-cors`, { bucket: this.uploads.bucket.id, corsRules }, childOptions(this, this.args.formerParent));
  }

  private bucket(args: JobStorageArgs, id: string, cors?: CorsRule[], lifecycle?: LifecycleRule[]): StoredBucket {
    const { name, tags } = args.context;
    const opts = () => childOptions(this, args.formerParent);
    const b = new aws.s3.Bucket(...transformed(`${name}-${id}`, { forceDestroy: false, tags }, opts(), args.transform?.bucket));
    new aws.s3.BucketOwnershipControls(`${name}-${id}-ownership`, { bucket: b.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts());
    const block = new aws.s3.BucketPublicAccessBlock(
      `${name}-${id}-public-access`,
      { bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      opts(),
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-${id}-encryption`,
      // SSE-S3: a bucket key only saves KMS requests, and SSE-S3 makes none.
      { bucket: b.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      opts(),
    );
    if (cors) new aws.s3.BucketCorsConfiguration(`${name}-${id}-cors`, { bucket: b.id, corsRules: cors }, opts());
    if (lifecycle) new aws.s3.BucketLifecycleConfiguration(...transformed(`${name}-${id}-lifecycle`, { bucket: b.id, rules: lifecycle }, opts(), args.transform?.lifecycle));
    return { bucket: b, block };
  }
}

function processingLifecycle(args: JobStorageArgs): LifecycleRule[] {
  return [
    // See retention.ts: intermediates are tagged by the retention tagger and expire early ...
    {
      id: "expire-intermediates",
      status: "Enabled",
      filter: { tag: { key: TAGS.retention, value: INTERMEDIATE } },
      expiration: { days: Math.min(args.intermediateRetentionDays, args.deliveryRetentionDays) },
    },
    // ... everything of a job (inputs and deliveries included) lives deliveryRetentionDays (>= 7), never less.
    { id: "expire-jobs", status: "Enabled", filter: { prefix: JOBS_PREFIX }, expiration: { days: args.deliveryRetentionDays } },
    ...args.apiState.map((state) => ({
      id: `expire-${state.prefix.replace(/[^a-z0-9]+/gi, "-").replace(/-+$/, "")}`,
      status: "Enabled",
      filter: { prefix: state.prefix },
      expiration: { days: state.expireAfterDays },
    })),
    ABORT_UPLOADS,
  ];
}
