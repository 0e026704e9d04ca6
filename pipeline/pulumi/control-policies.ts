/**
 * IAM policy documents of the functions behind the page's routes: uploads, cancel and retry.
 * Pure functions of resolved ARNs, like policies.ts; each holds only what its handler calls.
 */
import type { Pipeline } from "../define.js";
import { everyJobFolder, JOB_FOLDERS, TAGS } from "../layout.js";
import { bucketArn, doc, executionArns, functionLogs, functionTracing, listBuckets, readExecutions, sageMakerJobArns, type FunctionPolicyInput, type PolicyDocument } from "./policies.js";

/**
 * uploads: multipart uploads into the uploads bucket's upload prefix only (CreateMultipartUpload,
 * the presigned UploadPart and CompleteMultipartUpload are all authorized as s3:PutObject;
 * ListParts as s3:ListMultipartUploadParts), and its session records in the processing bucket.
 * It never reads an object: a browser's bytes go to S3 directly.
 */
export function uploadsPolicy(input: Omit<FunctionPolicyInput, "stateMachineArn"> & { uploadsBucket: string; objectPrefix: string; recordPrefix: string }): PolicyDocument {
  const { ctx } = input;
  const processing = bucketArn(ctx, input.processingBucket);
  return doc(
    functionLogs(ctx, input.functionName),
    functionTracing,
    {
      Sid: "MultipartUploads",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      Resource: [`${bucketArn(ctx, input.uploadsBucket)}/${input.objectPrefix}*`],
    },
    { Sid: "UploadRecords", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: [`${processing}/${input.recordPrefix}*`] },
    listBuckets("FindUploadRecords", [processing]),
  );
}

/**
 * cancel: the caller's execution (to find the running stage), StopExecution, the stage's
 * SageMaker job of this stack and environment only, its cancel marker and notification record
 * under `jobs/<id>/status/`, and the one cancellation email.
 */
export function cancelPolicy(input: FunctionPolicyInput & { pipeline: Pipeline; environment: string; identityArn: string; configurationSetArn: string }): PolicyDocument {
  const { ctx } = input;
  const processing = bucketArn(ctx, input.processingBucket);
  const kinds = [...new Set(input.pipeline.stages.map((s) => s.kind))].sort();
  return doc(
    functionLogs(ctx, input.functionName),
    functionTracing,
    readExecutions(input.stateMachineArn),
    { Sid: "StopExecution", Effect: "Allow", Action: ["states:StopExecution"], Resource: [executionArns(input.stateMachineArn)] },
    {
      Sid: "StopOwnStageJobs",
      Effect: "Allow",
      Action: kinds.map((k) => (k === "training" ? "sagemaker:StopTrainingJob" : "sagemaker:StopProcessingJob")),
      Resource: sageMakerJobArns(ctx, input.pipeline),
      // dev and prod share the job-name pattern: the environment tag tells them apart.
      Condition: { StringEquals: { [`aws:ResourceTag/${TAGS.environment}`]: input.environment } },
    },
    { Sid: "CancelMarkers", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: [`${processing}/${everyJobFolder(JOB_FOLDERS.status)}`] },
    listBuckets("FindCancelMarkers", [processing]),
    { Sid: "SendEmail", Effect: "Allow", Action: ["ses:SendEmail"], Resource: [input.identityArn, input.configurationSetArn] },
  );
}

/** retry: the caller's execution, its cancel marker (read only), and RedriveExecution. */
export function retryPolicy(input: FunctionPolicyInput): PolicyDocument {
  const { ctx } = input;
  const processing = bucketArn(ctx, input.processingBucket);
  return doc(
    functionLogs(ctx, input.functionName),
    functionTracing,
    readExecutions(input.stateMachineArn),
    { Sid: "RedriveExecution", Effect: "Allow", Action: ["states:RedriveExecution"], Resource: [executionArns(input.stateMachineArn)] },
    { Sid: "ReadCancelMarkers", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${processing}/${everyJobFolder(JOB_FOLDERS.status)}`] },
    listBuckets("FindCancelMarkers", [processing]),
  );
}
