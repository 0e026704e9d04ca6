/**
 * What the handlers need to know about their deployment. One source for both runtimes:
 * the environment part is `EnvironmentConfig` (Pulumi.<env>.yaml, pipeline/environment.ts);
 * the rest are names the stack (or the local runtime) resolves. In Lambda all of it comes
 * from environment variables (`configFromEnv`), see functions/README.md; the pipeline is the
 * composition root's (stages/lambda/*.ts), never one this layer picks.
 */
import { parseEnvironmentConfig, type EnvironmentConfig } from "../pipeline/environment.js";
import type { Pipeline } from "../pipeline/define.js";
import type { LinkLifetime } from "../pipeline/delivery-facts.js";
import { parseApiKeys, type ApiKey } from "./auth.js";

export interface FunctionConfig {
  /** Environment name (prod, dev, local). */
  readonly environment: string;
  readonly env: Pick<
    EnvironmentConfig,
    | "region"
    | "allowedInputBuckets"
    | "maxInputBytes"
    | "sesSender"
    | "apiRateLimit"
    | "deliveryRetentionDays"
    | "instanceOverrides"
    | "quotas"
    | "corsOrigins"
  >;
  /** The processing bucket (`jobs/<jobId>/...`, idempotency records, daily job counts). */
  readonly processingBucket: string;
  /** The stack's own uploads bucket: always an allowed input bucket. */
  readonly uploadsBucket?: string;
  /** API clients: names and sha256 hashes of their keys (`spaceport:apiKeys`, plus `SPACEPORT_API_KEYS`). */
  readonly apiKeys: readonly ApiKey[];
  /** Absolute base of the API (`https://api.example.com`), for `statusUrl`; relative links without it. */
  readonly apiBaseUrl?: string;
  /** The operator's page (`https://app.example.com/`): failure emails link to its Retry for the job. */
  readonly appUrl?: string;
  /** Largest accepted request body, bytes. */
  readonly maxBodyBytes: number;
  /** Requests with the same body from the same client within this window are one job (no Idempotency-Key). */
  readonly dedupeWindowSeconds: number;
  /** The pipeline the jobs run (its options, stages, delivery output). */
  readonly pipeline: Pipeline;
  /** Set by the local runtime: its deliveries never expire, links work while it serves them. */
  readonly linksWhileServed?: boolean;
}

/** How long a job's delivery links work: the stack's delivery expiry, or while served locally. */
export function linkLifetimeOf(config: Pick<FunctionConfig, "env" | "linksWhileServed">): LinkLifetime {
  return config.linksWhileServed ? { whileServed: true } : { days: config.env.deliveryRetentionDays };
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;
export const DEFAULT_DEDUPE_WINDOW_SECONDS = 600;

export class ConfigError extends Error {
  constructor(readonly variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = "ConfigError";
  }
}

/**
 * Lambda configuration from environment variables:
 * - `SPACEPORT_ENVIRONMENT` (name), `SPACEPORT_CONFIG` (JSON of the `spaceport:` settings plus `region`),
 * - `SPACEPORT_PROCESSING_BUCKET`, `SPACEPORT_UPLOADS_BUCKET` (optional),
 * - `SPACEPORT_API_KEYS` (optional, `client:sha256hex,...`, see auth.ts: extra clients besides
 *   `spaceport:apiKeys`, e.g. from a secret), `SPACEPORT_API_BASE_URL` (optional),
 * - `SPACEPORT_MAX_BODY_BYTES`, `SPACEPORT_DEDUPE_WINDOW_SECONDS` (optional).
 */
export function configFromEnv(vars: NodeJS.ProcessEnv, pipeline: Pipeline): FunctionConfig {
  const required = (name: string): string => {
    const value = vars[name];
    if (!value) throw new ConfigError(name, "is not set");
    return value;
  };
  const environment = vars["SPACEPORT_ENVIRONMENT"] ?? "local";
  let raw: unknown;
  const configText = required("SPACEPORT_CONFIG");
  try {
    raw = JSON.parse(configText);
  } catch (error) {
    throw new ConfigError("SPACEPORT_CONFIG", `not JSON: ${(error as Error).message}`);
  }
  const env = parseEnvironmentConfig(environment, raw);
  const positive = (name: string, fallback: number): number => {
    const value = vars[name];
    if (value === undefined || value === "") return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(name, `must be a whole number of at least 1, got "${value}"`);
    return n;
  };
  const apiKeysText = vars["SPACEPORT_API_KEYS"] ?? "";
  const uploads = vars["SPACEPORT_UPLOADS_BUCKET"];
  const apiBase = vars["SPACEPORT_API_BASE_URL"];
  const appUrl = vars["SPACEPORT_APP_URL"];
  return {
    environment,
    env,
    processingBucket: required("SPACEPORT_PROCESSING_BUCKET"),
    ...(uploads ? { uploadsBucket: uploads } : {}),
    apiKeys: [
      ...parseApiKeys(JSON.stringify(env.apiKeys), "spaceport:apiKeys"),
      ...parseApiKeys(apiKeysText, "SPACEPORT_API_KEYS"),
    ],
    ...(apiBase ? { apiBaseUrl: apiBase.replace(/\/+$/, "") } : {}),
    ...(appUrl ? { appUrl } : {}),
    maxBodyBytes: positive("SPACEPORT_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
    dedupeWindowSeconds: positive("SPACEPORT_DEDUPE_WINDOW_SECONDS", DEFAULT_DEDUPE_WINDOW_SECONDS),
    pipeline,
  };
}
