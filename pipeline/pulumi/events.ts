/**
 * Endings no Catch sees (an execution timeout, an abort, a `States.Runtime` error) still tell
 * the submitter: an EventBridge rule on the state machine's execution status changes invokes
 * notify, which mails once per job (functions/notify/execution-event.ts).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

/** The statuses that end a job without success. SUCCEEDED needs nothing: the success path mailed. */
export const UNSUCCESSFUL_STATUSES = ["FAILED", "TIMED_OUT", "ABORTED"] as const;

export function executionEndedPattern(stateMachineArn: string): Record<string, unknown> {
  return {
    source: ["aws.states"],
    "detail-type": ["Step Functions Execution Status Change"],
    detail: { status: [...UNSUCCESSFUL_STATUSES], stateMachineArn: [stateMachineArn] },
  };
}

export function executionEndedNotifications(
  name: string,
  input: { stateMachineArn: pulumi.Output<string>; notify: aws.lambda.Function; description: string; tags: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): aws.cloudwatch.EventRule {
  const rule = new aws.cloudwatch.EventRule(
    `${name}-execution-ended`,
    { description: input.description, eventPattern: input.stateMachineArn.apply((arn) => JSON.stringify(executionEndedPattern(arn))), tags: input.tags },
    opts,
  );
  const permission = new aws.lambda.Permission(
    `${name}-notify-execution-ended`,
    { action: "lambda:InvokeFunction", function: input.notify.name, principal: "events.amazonaws.com", sourceArn: rule.arn },
    opts,
  );
  new aws.cloudwatch.EventTarget(
    `${name}-execution-ended-notify`,
    {
      rule: rule.name,
      arn: input.notify.arn,
      // EventBridge retries a failed invocation (SES throttling, say) for up to a day.
      retryPolicy: { maximumRetryAttempts: 20, maximumEventAgeInSeconds: 86_400 },
    },
    { ...opts, dependsOn: [permission] },
  );
  return rule;
}
