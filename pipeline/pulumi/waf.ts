/**
 * Per-client API limits that hold before anything of ours runs: API Gateway's stage throttling
 * counts all callers together, so one anonymous caller could hold everyone at 429. HTTP APIs
 * take no WAF web ACL themselves, so the API is served through a CloudFront distribution with
 * a CLOUDFRONT-scope web ACL (created in us-east-1, as AWS requires) whose rate-based rule
 * blocks a source IP above `apiRateLimit.ratePerSecond` × 60 requests a minute. The published
 * API URL (`apiUrl`) is the distribution's; the execute-api endpoint stays behind it, guarded
 * only by the stage ceiling (`totalRatePerSecond`).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** WAF's smallest rate-based limit, per evaluation window. */
export const WAF_MIN_LIMIT = 10;
export const WAF_WINDOW_SECONDS = 60;

/** Requests one IP may make per minute before WAF blocks it (until its rate falls again). */
export function perIpLimit(ratePerSecond: number): number {
  return Math.max(WAF_MIN_LIMIT, Math.ceil(ratePerSecond * WAF_WINDOW_SECONDS));
}

/** Managed CloudFront origin request policy (id fixed by AWS): every viewer header but Host. */
const ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac";

export interface ApiFrontDoor {
  readonly webAcl: aws.wafv2.WebAcl;
  readonly distribution: aws.cloudfront.Distribution;
  readonly url: pulumi.Output<string>;
}

export function apiFrontDoor(
  name: string,
  input: { prefix: string; apiEndpoint: pulumi.Output<string>; ratePerSecond: number; tags: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): ApiFrontDoor {
  const usEast1 = new aws.Provider(`${name}-us-east-1`, { region: "us-east-1" }, opts);
  const metric = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
  const webAcl = new aws.wafv2.WebAcl(
    `${name}-api-waf`,
    {
      description: `${input.prefix} API: per-IP rate limit`,
      scope: "CLOUDFRONT",
      defaultAction: { allow: {} },
      rules: [
        {
          name: "per-ip-rate",
          priority: 0,
          action: { block: { customResponse: { responseCode: 429, responseHeaders: [{ name: "retry-after", value: String(WAF_WINDOW_SECONDS) }] } } },
          statement: {
            rateBasedStatement: { aggregateKeyType: "IP", limit: perIpLimit(input.ratePerSecond), evaluationWindowSec: WAF_WINDOW_SECONDS },
          },
          visibilityConfig: metric(`${input.prefix}-per-ip-rate`),
        },
      ],
      visibilityConfig: metric(`${input.prefix}-api`),
      tags: input.tags,
    },
    { ...opts, provider: usEast1 },
  );
  // CloudFront forwards Authorization on a GET only when the cache policy keys on it; with a
  // zero default TTL and the API's `cache-control: no-store` nothing is cached anyway.
  const cachePolicy = new aws.cloudfront.CachePolicy(
    `${name}-api-cache`,
    {
      name: `${input.prefix}-api`,
      comment: `${input.prefix} job API: not cached; API keys reach the origin`,
      defaultTtl: 0,
      minTtl: 0,
      maxTtl: 1,
      parametersInCacheKeyAndForwardedToOrigin: {
        headersConfig: { headerBehavior: "whitelist", headers: { items: ["authorization", "x-api-key"] } },
        cookiesConfig: { cookieBehavior: "none" },
        queryStringsConfig: { queryStringBehavior: "all" },
      },
    },
    opts,
  );
  const originId = "api";
  const distribution = new aws.cloudfront.Distribution(
    `${name}-api-cdn`,
    {
      enabled: true,
      comment: `${input.prefix} job API (per-IP limits by WAF)`,
      webAclId: webAcl.arn,
      origins: [
        {
          originId,
          domainName: input.apiEndpoint.apply((url) => new URL(url).host),
          customOriginConfig: { httpPort: 80, httpsPort: 443, originProtocolPolicy: "https-only", originSslProtocols: ["TLSv1.2"] },
        },
      ],
      defaultCacheBehavior: {
        targetOriginId: originId,
        viewerProtocolPolicy: "https-only",
        allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
        cachedMethods: ["GET", "HEAD"],
        cachePolicyId: cachePolicy.id,
        originRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
      restrictions: { geoRestriction: { restrictionType: "none" } },
      viewerCertificate: { cloudfrontDefaultCertificate: true },
      priceClass: "PriceClass_100",
      tags: input.tags,
    },
    opts,
  );
  return { webAcl, distribution, url: pulumi.interpolate`https://${distribution.domainName}` };
}
