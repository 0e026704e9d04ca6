import type { EnvironmentConfig } from "./environment.js";

/** Where and with what a compiled pipeline runs: resolved names, no Pulumi outputs. */
export interface CompileTarget {
  /** Environment name (prod, dev, local). */
  readonly environment: string;
  readonly config: Pick<EnvironmentConfig, "region" | "quotas" | "instanceOverrides">;
  /** The processing bucket holding `jobs/<jobId>/...`. */
  readonly bucket: string;
  /** SageMaker execution role. */
  readonly roleArn: string;
  /** Image URI per stage name. */
  readonly images: Readonly<Record<string, string>>;
  /** The notify function (ARN or name) the state machine invokes. */
  readonly notifyFunction: string;
}
