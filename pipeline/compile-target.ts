import type { EnvironmentConfig } from "./environment.js";

/** Where and with what a compiled pipeline runs: resolved names, no Pulumi outputs. */
export interface CompileTarget {
  /** Environment name (prod, dev, local). */
  readonly environment: string;
  readonly config: Pick<EnvironmentConfig, "region" | "quotas" | "instanceOverrides">;
  /** The processing bucket holding `jobs/<jobId>/...`. */
  readonly bucket: string;
  /** SageMaker execution role per stage name: each stage's role reaches only that stage's S3 locations. */
  readonly roleArns: Readonly<Record<string, string>>;
  /** Image URI per stage name. */
  readonly images: Readonly<Record<string, string>>;
  /** The notify function (ARN or name) the state machine invokes. */
  readonly notifyFunction: string;
  /** How many days delivery links work (the environment's `deliveryRetentionDays`); the stages
   *  that deliver links get it as SPACEPORT_LINK_DAYS so the delivery can say so. */
  readonly linkDays?: number;
}
