/**
 * `JobDelivery`: how a job's result reaches its submitter. The email (an SES identity and
 * configuration set) and the delivery links: CloudFront with Origin Access Control in front of
 * the processing bucket, whose policy lets it read deliveries (`jobs/*\/<delivery>/*`) and nothing
 * else, with each file's Content-Type set by a CloudFront function (delivery-types.ts). The
 * operator's page is a second origin (the page bucket) behind its own behaviour, `/app/*`
 * (components/page.ts puts the files there).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { everyJobFolder } from "../../layout.js";
import { deliveryTypesFunction } from "../delivery-types.js";
import { bucketPolicy, type AwsContext } from "../policies.js";
import { childOptions, json, transformed, type ComponentContext, type Transform } from "./component.js";
import { PAGE_PATH } from "./page.js";
import type { StoredBucket } from "./storage.js";

export interface JobDeliveryArgs {
  readonly context: ComponentContext;
  readonly aws: pulumi.Output<AwsContext>;
  readonly processing: StoredBucket;
  /** The pipeline's delivered output: the only folder CloudFront serves. */
  readonly deliveryOutput: string;
  /**
   * A preview is delivered first and the final model replaces it at the same links (the
   * pipeline has early runs): the edge keeps delivery files DELIVERY_EDGE_TTL_SECONDS at most
   * and browsers revalidate, so a buyer sees the final model within that time. Default false:
   * files never change once delivered and are cached as long as CloudFront's optimized policy allows.
   */
  readonly replacedInPlace?: boolean;
  /** Origins allowed to load deliveries (viewer, scene files). */
  readonly corsOrigins: readonly string[];
  /** The page bucket, served at `/app/*` (PAGE_PATH). */
  readonly page: StoredBucket;
  /** The sender address; the identity verified is `sesDomain` when given, else this address. */
  readonly sesSender: string;
  readonly sesDomain?: string;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    readonly distribution?: Transform<aws.cloudfront.DistributionArgs>;
    readonly emailIdentity?: Transform<aws.sesv2.EmailIdentityArgs>;
  };
}

/** Managed CloudFront policies (ids are fixed by AWS). */
const CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6";
const CORS_S3_ORIGIN = "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf";
const CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/** How long the edge may serve a delivery file that can still be replaced (a preview's). */
export const DELIVERY_EDGE_TTL_SECONDS = 60;

/** `/app/` is the page: CloudFront asks S3 for `app/index.html` (S3 has no directory index behind OAC). */
const PAGE_INDEX_CODE = `function handler(event) {
  var request = event.request;
  if (request.uri.endsWith("/")) request.uri += "index.html";
  return request;
}`;

export class JobDelivery extends pulumi.ComponentResource {
  readonly configurationSet: aws.sesv2.ConfigurationSet;
  readonly emailIdentity: aws.sesv2.EmailIdentity;
  readonly distribution: aws.cloudfront.Distribution;
  /** `https://<distribution>`: base of every delivery link. */
  readonly deliveryBaseUrl: pulumi.Output<string>;

  constructor(name: string, args: JobDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobDelivery", name, {}, opts);
    const { name: base, prefix, tags } = args.context;
    const child = (extra?: pulumi.CustomResourceOptions) => childOptions(this, args.formerParent, extra);
    this.configurationSet = new aws.sesv2.ConfigurationSet(
      `${base}-email`,
      {
        configurationSetName: prefix,
        reputationOptions: { reputationMetricsEnabled: true },
        sendingOptions: { sendingEnabled: true },
        suppressionOptions: { suppressedReasons: ["BOUNCE", "COMPLAINT"] },
        tags,
      },
      child(),
    );
    this.emailIdentity = new aws.sesv2.EmailIdentity(
      ...transformed(`${base}-sender`, { emailIdentity: args.sesDomain ?? args.sesSender, configurationSetName: this.configurationSet.configurationSetName, tags }, child(), args.transform?.emailIdentity),
    );
    this.distribution = this.cdn(args);
    this.deliveryBaseUrl = pulumi.interpolate`https://${this.distribution.domainName}`;
    new aws.s3.BucketPolicy(
      `${base}-processing-policy`,
      {
        bucket: args.processing.bucket.id,
        policy: json(
          pulumi
            .all([args.aws, args.processing.bucket.bucket, this.distribution.arn])
            .apply(([c, b, distributionArn]) => bucketPolicy({ ctx: c, bucket: b, cloudFront: { distributionArn, deliveryPrefix: args.deliveryOutput } })),
        ),
      },
      child({ dependsOn: [args.processing.block] }),
    );
    this.registerOutputs({ deliveryBaseUrl: this.deliveryBaseUrl });
  }

  private cdn(args: JobDeliveryArgs): aws.cloudfront.Distribution {
    const { name: base, prefix, tags } = args.context;
    const child = () => childOptions(this, args.formerParent);
    const oac = new aws.cloudfront.OriginAccessControl(
      `${base}-oac`,
      { name: `${prefix}-deliveries`, originAccessControlOriginType: "s3", signingBehavior: "always", signingProtocol: "sigv4" },
      child(),
    );
    const corsHeaders = new aws.cloudfront.ResponseHeadersPolicy(
      `${base}-viewer-cors`,
      {
        name: `${prefix}-viewer-cors`,
        corsConfig: {
          accessControlAllowCredentials: false,
          accessControlAllowHeaders: { items: ["*"] },
          accessControlAllowMethods: { items: ["GET", "HEAD", "OPTIONS"] },
          accessControlAllowOrigins: { items: [...args.corsOrigins] },
          accessControlExposeHeaders: { items: ["ETag", "Content-Length", "Content-Range"] },
          accessControlMaxAgeSec: 86_400,
          originOverride: true,
        },
        securityHeadersConfig: {
          contentTypeOptions: { override: true },
          strictTransportSecurity: { accessControlMaxAgeSec: 31_536_000, includeSubdomains: true, override: true },
        },
      },
      child(),
    );
    // Content-Type by extension on the viewer response (SageMaker uploads delivery files untyped).
    const deliveryTypes = deliveryTypesFunction(`${base}-delivery-types`, `${prefix}-delivery-types`, child(), args.replacedInPlace === true);
    const cachePolicyId = args.replacedInPlace ? this.replaceableCachePolicy(base, prefix, child).id : CACHING_OPTIMIZED;
    const originId = "processing";
    const deliveryBehavior = {
      targetOriginId: originId,
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD", "OPTIONS"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
      cachePolicyId,
      originRequestPolicyId: CORS_S3_ORIGIN,
      responseHeadersPolicyId: corsHeaders.id,
      functionAssociations: [{ eventType: "viewer-response", functionArn: deliveryTypes.arn }],
    };
    const deliveries = everyJobFolder(args.deliveryOutput);
    const page = this.pageBehavior(args, child);
    const distributionArgs: aws.cloudfront.DistributionArgs = {
      enabled: true,
      comment: `${prefix} deliveries (${deliveries})`,
      isIpv6Enabled: true,
      httpVersion: "http2and3",
      priceClass: "PriceClass_100",
      origins: [
        { originId, domainName: args.processing.bucket.bucketRegionalDomainName, originAccessControlId: oac.id },
        { originId: page.targetOriginId, domainName: args.page.bucket.bucketRegionalDomainName, originAccessControlId: oac.id },
      ],
      // Only deliveries are served: the bucket policy lets CloudFront read `jobs/*/<delivery>/*`
      // and nothing else, so any other path is a 403 from S3 whatever the behavior.
      orderedCacheBehaviors: [page, { pathPattern: deliveries, ...deliveryBehavior }],
      defaultCacheBehavior: deliveryBehavior,
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: { cloudfrontDefaultCertificate: true },
      tags,
    };
    return new aws.cloudfront.Distribution(...transformed(`${base}-deliveries`, distributionArgs, child(), args.transform?.distribution));
  }

  /** Like CloudFront's optimized policy (compressed, nothing in the key), but kept at most DELIVERY_EDGE_TTL_SECONDS. */
  private replaceableCachePolicy(base: string, prefix: string, child: () => pulumi.CustomResourceOptions): aws.cloudfront.CachePolicy {
    return new aws.cloudfront.CachePolicy(
      `${base}-delivery-cache`,
      {
        name: `${prefix}-delivery-cache`,
        comment: "Deliveries a preview held first: the final model replaces it at the same link",
        minTtl: 0,
        defaultTtl: DELIVERY_EDGE_TTL_SECONDS,
        maxTtl: DELIVERY_EDGE_TTL_SECONDS,
        parametersInCacheKeyAndForwardedToOrigin: {
          enableAcceptEncodingGzip: true,
          enableAcceptEncodingBrotli: true,
          cookiesConfig: { cookieBehavior: "none" },
          headersConfig: { headerBehavior: "none" },
          queryStringsConfig: { queryStringBehavior: "none" },
        },
      },
      child(),
    );
  }

  /** `/app/*` → the page bucket: not cached (a deploy shows at once), `/app/` answered by index.html, no framing. */
  private pageBehavior(args: JobDeliveryArgs, child: () => pulumi.CustomResourceOptions) {
    const { name: base, prefix } = args.context;
    const index = new aws.cloudfront.Function(`${base}-page-index`, { name: `${prefix}-page-index`, runtime: "cloudfront-js-2.0", publish: true, code: PAGE_INDEX_CODE, comment: "/app/ → /app/index.html" }, child());
    const headers = new aws.cloudfront.ResponseHeadersPolicy(
      `${base}-page-headers`,
      {
        name: `${prefix}-page-headers`,
        securityHeadersConfig: {
          contentTypeOptions: { override: true },
          frameOptions: { frameOption: "DENY", override: true },
          referrerPolicy: { referrerPolicy: "same-origin", override: true },
          strictTransportSecurity: { accessControlMaxAgeSec: 31_536_000, includeSubdomains: true, override: true },
        },
      },
      child(),
    );
    return {
      pathPattern: `${PAGE_PATH}*`,
      targetOriginId: "page",
      viewerProtocolPolicy: "redirect-to-https",
      allowedMethods: ["GET", "HEAD"],
      cachedMethods: ["GET", "HEAD"],
      compress: true,
      cachePolicyId: CACHING_DISABLED,
      responseHeadersPolicyId: headers.id,
      functionAssociations: [{ eventType: "viewer-request", functionArn: index.arn }],
    };
  }
}

export interface DkimRecord {
  readonly name: string;
  readonly type: "CNAME";
  readonly value: string;
}

/** The Easy DKIM CNAMEs a domain identity needs published; none for a single-address identity. */
export function dkimRecords(identity: aws.sesv2.EmailIdentity, sesDomain: string | undefined): pulumi.Output<DkimRecord[]> {
  return identity.dkimSigningAttributes.apply((attributes) =>
    sesDomain
      ? (attributes?.tokens ?? []).map((token) => ({ name: `${token}._domainkey.${sesDomain}`, type: "CNAME" as const, value: `${token}.dkim.amazonses.com` }))
      : [],
  );
}
