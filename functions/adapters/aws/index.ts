import { CloudWatchLogs } from "@aws-sdk/client-cloudwatch-logs";
/**
 * The AWS wiring of the ports, from Lambda environment variables (set by the Pulumi stack):
 * `SPACEPORT_STATE_MACHINE_ARN`, `SPACEPORT_DELIVERY_BASE_URL` (CloudFront URL serving
 * `jobs/<id>/delivery/`), `SPACEPORT_SES_CONFIGURATION_SET` (optional), plus configFromEnv's.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { SFNClient } from "@aws-sdk/client-sfn";
import { ConfigError, type FunctionConfig } from "../../config.js";
import { S3ObjectStore } from "./object-store.js";
import { StepFunctionsExecutions } from "./executions.js";
import { SesMailer } from "./mailer.js";
import { CloudWatchStageProgress, type LogsReader } from "./stage-progress.js";

export function s3Store(vars: NodeJS.ProcessEnv, config: FunctionConfig): S3ObjectStore {
  const base = vars["SPACEPORT_DELIVERY_BASE_URL"];
  const account = vars["SPACEPORT_ACCOUNT_ID"];
  return new S3ObjectStore(new S3Client({ region: config.env.region }), {
    region: config.env.region,
    ...(base ? { publicBaseUrl: base } : {}),
    ...(account ? { expectedBucketOwner: account } : {}),
  });
}

export function stepFunctions(vars: NodeJS.ProcessEnv, config: FunctionConfig): StepFunctionsExecutions {
  const arn = vars["SPACEPORT_STATE_MACHINE_ARN"];
  if (!arn) throw new ConfigError("SPACEPORT_STATE_MACHINE_ARN", "is not set");
  return new StepFunctionsExecutions(new SFNClient({ region: config.env.region }), arn);
}

export function sesMailer(vars: NodeJS.ProcessEnv, config: FunctionConfig): SesMailer {
  const set = vars["SPACEPORT_SES_CONFIGURATION_SET"];
  return new SesMailer(new SESv2Client({ region: config.env.region }), {
    from: config.env.sesSender,
    ...(set ? { configurationSetName: set } : {}),
  });
}

/** Stage progress from the SageMaker jobs' CloudWatch Logs (`progress: N%` lines). */
export function cloudWatchProgress(config: FunctionConfig): CloudWatchStageProgress {
  return new CloudWatchStageProgress(new CloudWatchLogs({ region: config.env.region }));
}

export { S3ObjectStore, StepFunctionsExecutions, SesMailer, CloudWatchStageProgress };
