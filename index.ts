/**
 * The Pulumi program, a composition root: Spaceport's pipeline, its Lambda entries and the
 * `PipelineStack` component meet only here (and in stages/cli.ts for the local runtime).
 * One stack per environment (`pulumi stack select prod|dev`), all
 * settings from `Pulumi.<env>.yaml` (validated by pipeline/environment.ts; a missing or
 * invalid key fails naming it), the whole system from the `spaceport` pipeline.
 *
 * Reviewable without AWS: `npm run synth -- --env prod` runs this program under mocks.
 * Only a default export: Pulumi rejects an ESM entry with both default and named exports.
 */
import { fileURLToPath } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import type { EnvironmentConfig } from "./pipeline/environment.js";
import { environmentFromPulumiConfig } from "./pipeline/pulumi/config.js";
import { PipelineStack } from "./pipeline/pulumi/stack.js";
import { CLIENT_JOBS_PREFIX } from "./functions/job-list/handler.js";
import { DAILY_COUNT_PREFIX, IDEMPOTENCY_PREFIX } from "./functions/start-job/handler.js";
import { UPLOAD_RECORD_PREFIX } from "./functions/uploads/handler.js";
import { spaceport } from "./stages/spaceport.js";

/** Lambda entries: each binds a handler of functions/ to Spaceport's pipeline and bundles to one file exporting `handler`. */
const FUNCTION_ENTRIES = {
  startJob: "stages/lambda/start-job.ts",
  jobStatus: "stages/lambda/job-status.ts",
  notify: "stages/lambda/notify.ts",
  uploads: "stages/lambda/uploads.ts",
  cancel: "stages/lambda/cancel.ts",
  retry: "stages/lambda/retry.ts",
} as const;

/** Where the API keeps its records in the processing bucket, how long they live, and who writes them. */
function apiStateFolders(config: EnvironmentConfig) {
  return [
    { prefix: IDEMPOTENCY_PREFIX, expireAfterDays: config.deliveryRetentionDays },
    { prefix: DAILY_COUNT_PREFIX, expireAfterDays: 2 },
    // The job list lives as long as the jobs it lists.
    { prefix: CLIENT_JOBS_PREFIX, expireAfterDays: config.deliveryRetentionDays },
    // An upload session is needed until its ZIP is submitted (the ZIP itself lives uploadRetentionDays).
    { prefix: UPLOAD_RECORD_PREFIX, expireAfterDays: config.uploadRetentionDays, writer: "uploads" as const },
  ];
}

export default function program() {
  const environment = pulumi.getStack();
  const config = environmentFromPulumiConfig(environment, pulumi.runtime.allConfig());
  const stack = new PipelineStack("spaceport", {
    pipeline: spaceport,
    environment,
    config,
    root: fileURLToPath(new URL(".", import.meta.url)),
    functions: FUNCTION_ENTRIES,
    apiState: apiStateFolders(config),
  });
  return {
    environment,
    region: config.region,
    apiUrl: stack.apiUrl,
    uploadsBucket: stack.uploadsBucket.bucket,
    processingBucket: stack.processingBucket.bucket,
    stateMachineArn: stack.stateMachine.arn,
    deliveryBaseUrl: stack.deliveryBaseUrl,
    alarmTopicArn: stack.alarmTopic.arn,
    pageUrl: stack.pageUrl,
    userPoolId: stack.signIn.userPool.id,
    pageClientId: stack.signIn.client.id,
    signInUrl: stack.signIn.hostedUiUrl,
    dkimRecords: stack.dkimRecords,
    repositoryUrls: Object.fromEntries(Object.entries(stack.repositories).map(([stage, repo]) => [stage, repo.repositoryUrl])),
    images: stack.images,
    compileTarget: stack.compileTarget,
  };
}
