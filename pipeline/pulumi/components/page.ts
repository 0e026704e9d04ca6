/**
 * `JobPage`: the operator's page on AWS. Its static files (webapp/build.ts: index.html and one
 * esbuild bundle) and a `config.json` naming the API's `/me` base and the Cognito sign-in, never
 * a key, in the page bucket under `app/`; CloudFront serves them at `/app/*` as their own origin
 * and behaviour of the delivery distribution (components/delivery.ts), so the page, its viewer
 * links and the deliveries share one origin. Only CloudFront may read the bucket, and only `app/`.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { buildWebApp } from "../../../webapp/build.js";
import { bucketPolicy, type AwsContext } from "../policies.js";
import { childOptions, json, type ComponentContext } from "./component.js";
import type { StoredBucket } from "./storage.js";

/** Where the page is: its CloudFront path and its objects' prefix in the page bucket. */
export const PAGE_PATH = "/app/";
const PAGE_KEYS = PAGE_PATH.slice(1);

/** What `config.json` tells the page on AWS (webapp/src/main.ts reads it). */
export interface PageConfig {
  /** Base of the API routes the page calls: the API's `/me` (JWT authorizer). */
  readonly api: string;
  readonly auth: { readonly kind: "cognito"; readonly domain: string; readonly clientId: string; readonly redirectUri: string };
}

export interface JobPageArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  readonly bucket: StoredBucket;
  /** The distribution serving `/app/*` (the only reader of the bucket). */
  readonly distributionArn: pulumi.Input<string>;
  readonly config: pulumi.Input<PageConfig>;
  readonly formerParent?: pulumi.Resource;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "config.json": "application/json; charset=utf-8",
};

export class JobPage extends pulumi.ComponentResource {
  constructor(name: string, args: JobPageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobPage", name, {}, opts);
    const { name: base } = args.context;
    const child = (extra?: pulumi.CustomResourceOptions) => childOptions(this, args.formerParent, extra);
    const files: Record<string, pulumi.Input<string>> = { ...buildWebApp(), "config.json": pulumi.output(args.config).apply((c) => JSON.stringify(c)) };
    for (const [file, content] of Object.entries(files)) {
      new aws.s3.BucketObjectv2(
        `${base}-page-${file.replace(/\W+/g, "-")}`,
        // Not cached long: a deploy's page is what the next load gets.
        { bucket: args.bucket.bucket.id, key: `${PAGE_KEYS}${file}`, content, contentType: CONTENT_TYPES[file]!, cacheControl: "no-cache", tags: args.context.tags },
        child(),
      );
    }
    new aws.s3.BucketPolicy(
      `${base}-page-policy`,
      {
        bucket: args.bucket.bucket.id,
        policy: json(
          pulumi.all([args.aws, args.bucket.bucket.bucket, args.distributionArn]).apply(([c, b, distributionArn]) => bucketPolicy({ ctx: c, bucket: b, cloudFront: { distributionArn, keys: `${PAGE_KEYS}*` } })),
        ),
      },
      child({ dependsOn: [args.bucket.block] }),
    );
    this.registerOutputs({});
  }
}
