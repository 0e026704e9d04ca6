/**
 * Environment configuration: what one deployment (prod, dev, local) allows and needs.
 * Plain data, validated with valibot; `Pulumi.<env>.yaml` holds it under the `spaceport:`
 * namespace (region under `aws:region`). Every error names the offending key.
 */
import { readFileSync } from "node:fs";
import * as v from "valibot";
import { parse as parseYaml } from "yaml";
import { INSTANCE_TYPES, type InstanceType } from "./instances.js";

/** The quota kinds of `spaceport:quotas` (`jobKind`); what each means is pipeline/quotas.ts's. */
export const QUOTA_KINDS = ["processing", "training", "spot-training"] as const;

const instanceTypeNames = Object.keys(INSTANCE_TYPES) as [InstanceType, ...InstanceType[]];

export const QuotaSchema = v.strictObject({
  instanceType: v.picklist(instanceTypeNames, (issue) => `unknown SageMaker instance type ${JSON.stringify(issue.input)}`),
  /** `spot-training` is its own SageMaker quota ("<type> for spot training job usage"), apart from on-demand training. */
  jobKind: v.picklist(QUOTA_KINDS, (issue) => `must be one of ${QUOTA_KINDS.join(", ")}, got ${JSON.stringify(issue.input)}`),
  count: v.pipe(v.number(), v.integer(), v.minValue(0)),
});
export type Quota = v.InferOutput<typeof QuotaSchema>;

export const InstanceOverrideSchema = v.strictObject({
  type: v.optional(v.picklist(instanceTypeNames, (issue) => `unknown SageMaker instance type ${JSON.stringify(issue.input)}`)),
  count: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
});

const bucketName = v.pipe(
  v.string(),
  v.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name"),
);
const email = v.pipe(v.string(), v.email("must be an email address"));

/** Everything a stack (or the local runtime) reads from its environment's config. */
export const EnvironmentConfigSchema = v.strictObject({
  region: v.pipe(v.string(), v.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as us-west-2")),
  /**
   * SageMaker service quotas approved for this account and region. A training stage that asks
   * for managed spot runs on spot only where a `spot-training` quota is listed; otherwise on demand.
   */
  quotas: v.array(QuotaSchema),
  /** Per-stage instance changes for this environment (e.g. a smaller dev instance). */
  instanceOverrides: v.optional(v.record(v.string(), InstanceOverrideSchema), {}),
  /** Buckets that job inputs may come from, besides the stack's own uploads bucket. */
  allowedInputBuckets: v.optional(v.array(bucketName), []),
  /** Largest input ZIP accepted, in bytes. */
  maxInputBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5 * 1024 ** 3),
  /** The SES sender address for job emails. */
  sesSender: email,
  /** Where alarms go. */
  alarmEmail: email,
  /** Days before intermediate artifacts (sfm/, model/, checkpoints) expire. Inputs and deliveries are kept. */
  intermediateRetentionDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 14),
  /**
   * Days an upload stays in the uploads bucket. start-job copies the ZIP into the job
   * (`jobs/<id>/input/`) at submission, so the upload is only needed until then.
   */
  uploadRetentionDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 3),
  /**
   * Days SageMaker's own job log groups (`/aws/sagemaker/ProcessingJobs`, `.../TrainingJobs`)
   * keep logs. Set, the stack manages both groups with this retention; they are shared by the
   * whole account and region, so set it in one stack per account and region only.
   */
  sageMakerLogRetentionDays: v.optional(v.picklist([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const, "must be a retention CloudWatch Logs offers (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ... days)")),
  /** Days that delivery links (and deliveries) stay valid. At least 7. */
  deliveryRetentionDays: v.optional(v.pipe(v.number(), v.integer(), v.minValue(7)), 90),
  /**
   * API limits. `ratePerSecond`/`burst`: per client. In front of the API a WAF rate-based rule
   * (pipeline/pulumi/waf.ts) blocks a source IP above `ratePerSecond` × 60 requests a minute
   * (at least 10) before API Gateway or any function runs; behind it each handler keeps a token
   * bucket per API client (`burst`, refilled at `ratePerSecond`; per warm container, so a second
   * line only). `totalRatePerSecond`/`totalBurst`: API Gateway stage throttling of all callers
   * together, a ceiling that protects the functions. `jobsPerDay`: jobs one API client may start
   * per UTC day (durable, start-job); never above what the quotas can run in a day
   * (pipeline/capacity.ts), which is also the default.
   */
  apiRateLimit: v.optional(
    v.strictObject({
      ratePerSecond: v.pipe(v.number(), v.minValue(0.01)),
      burst: v.pipe(v.number(), v.integer(), v.minValue(1)),
      jobsPerDay: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
      totalRatePerSecond: v.optional(v.pipe(v.number(), v.minValue(1)), 50),
      totalBurst: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 100),
    }),
    { ratePerSecond: 2, burst: 5 },
  ),
  /**
   * API clients: client name → sha256 (hex) of its API key (functions/auth.ts makes both).
   * Hashes only, so they can sit in Pulumi.<env>.yaml; no clients means no one can start jobs.
   */
  apiKeys: v.optional(
    v.record(
      v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, "client names are letters, digits, '.', '_' or '-'")),
      v.pipe(v.string(), v.regex(/^[0-9a-fA-F]{64}$/, "must be the sha256 of the key, 64 hex digits")),
    ),
    {},
  ),
  /** SES: verify this whole domain (Easy DKIM) instead of the single sender address. */
  sesDomain: v.optional(v.pipe(v.string(), v.regex(/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$/, "must be a domain name such as example.com"))),
  /** Origins allowed to load deliveries (viewer, scene files) and call the API from a browser. */
  corsOrigins: v.optional(
    v.array(v.pipe(v.string(), v.regex(/^(\*|https?:\/\/[a-zA-Z0-9.-]+(:\d+)?)$/, 'must be "*" or an origin such as https://spaceport.example.com'))),
    ["*"],
  ),
});
export type EnvironmentConfig = v.InferOutput<typeof EnvironmentConfigSchema>;
export type EnvironmentConfigInput = v.InferInput<typeof EnvironmentConfigSchema>;

export class EnvironmentConfigError extends Error {
  constructor(
    readonly environment: string,
    readonly problems: readonly { key: string; message: string }[],
  ) {
    super(
      `invalid configuration for environment "${environment}":\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}`).join("\n"),
    );
    this.name = "EnvironmentConfigError";
  }
}

/** Validates plain config data; keys in messages are written as in Pulumi.<env>.yaml. */
export function parseEnvironmentConfig(environment: string, data: unknown): EnvironmentConfig {
  const result = v.safeParse(EnvironmentConfigSchema, data);
  if (result.success) return result.output;
  const problems = result.issues.map((issue) => {
    const path = v.getDotPath(issue);
    const top = path?.split(".")[0];
    const key = top === "region" ? `aws:region${path!.slice(6)}` : path ? `spaceport:${path}` : "spaceport";
    const message =
      issue.expected === "never" && issue.kind === "schema"
        ? "unknown setting"
        : issue.input === undefined && issue.kind === "schema"
          ? "required setting is missing"
          : issue.message;
    return { key, message };
  });
  throw new EnvironmentConfigError(environment, problems);
}

/**
 * Reads `Pulumi.<env>.yaml` without the Pulumi CLI: `aws:region` plus every
 * `spaceport:<key>`. Values that are not ours (other namespaces) are ignored.
 */
export function readStackConfigFile(path: string, environment: string): EnvironmentConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, "utf8"));
  } catch (error) {
    throw new EnvironmentConfigError(environment, [{ key: path, message: (error as Error).message }]);
  }
  const config = (doc as { config?: Record<string, unknown> } | null)?.config;
  if (!config || typeof config !== "object") {
    throw new EnvironmentConfigError(environment, [{ key: "config", message: `${path} has no "config:" section` }]);
  }
  return parseEnvironmentConfig(environment, fromPulumiKeys(config));
}

/** Turns `{ "aws:region": x, "spaceport:quotas": y }` into `{ region: x, quotas: y }`. */
export function fromPulumiKeys(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === "aws:region") out["region"] = value;
    else if (key.startsWith("spaceport:")) out[key.slice("spaceport:".length)] = value;
  }
  return out;
}
