/**
 * `JobAlarms`: what the operator hears about. An SNS topic mailed to `alarmEmail`, and alarms
 * on failed and timed-out jobs, on the notify function's errors (an email may be missing) and
 * on start-job's, job-status's and the page's functions' (uploads, cancel, retry: a caller got a 500).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { childOptions, transformed, type ComponentContext, type Transform } from "./component.js";

export interface JobAlarmsArgs {
  readonly context: ComponentContext;
  readonly alarmEmail: string;
  readonly stateMachineArn: pulumi.Input<string>;
  readonly notifyFunctionName: pulumi.Input<string>;
  /** The API functions: an error there is a submitter's 500. */
  readonly startJobFunctionName: pulumi.Input<string>;
  readonly jobStatusFunctionName: pulumi.Input<string>;
  /** The functions behind the page's routes, by their id (`uploads`, `cancel`, `retry`). */
  readonly pageFunctionNames?: Readonly<Record<string, pulumi.Input<string>>>;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    /** Each alarm (`<name>-executions-failed`, `-executions-timed-out`, `-notify-errors`). */
    readonly alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
  };
}

export class JobAlarms extends pulumi.ComponentResource {
  readonly topic: aws.sns.Topic;

  constructor(name: string, args: JobAlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:JobAlarms", name, {}, opts);
    const { name: base, prefix, tags } = args.context;
    const child = () => childOptions(this, args.formerParent);
    this.topic = new aws.sns.Topic(`${base}-alarms`, { displayName: `${prefix} alarms`, tags }, child());
    new aws.sns.TopicSubscription(`${base}-alarm-email`, { topic: this.topic.arn, protocol: "email", endpoint: args.alarmEmail }, child());
    const alarm = (id: string, description: string, namespace: string, metricName: string, dimensions: Record<string, pulumi.Input<string>>) => {
      const alarmArgs: aws.cloudwatch.MetricAlarmArgs = {
        alarmDescription: description,
        namespace,
        metricName,
        dimensions,
        statistic: "Sum",
        period: 300,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
        alarmActions: [this.topic.arn],
        okActions: [this.topic.arn],
        tags,
      };
      new aws.cloudwatch.MetricAlarm(...transformed(`${base}-${id}`, alarmArgs, child(), args.transform?.alarm));
    };
    alarm("executions-failed", `${prefix}: a job failed`, "AWS/States", "ExecutionsFailed", { StateMachineArn: args.stateMachineArn });
    alarm("executions-timed-out", `${prefix}: a job timed out`, "AWS/States", "ExecutionsTimedOut", { StateMachineArn: args.stateMachineArn });
    alarm("notify-errors", `${prefix}: the notify function failed (an email may not have been sent)`, "AWS/Lambda", "Errors", { FunctionName: args.notifyFunctionName });
    alarm("start-job-errors", `${prefix}: the start-job function failed (a submitter got a 500)`, "AWS/Lambda", "Errors", { FunctionName: args.startJobFunctionName });
    alarm("job-status-errors", `${prefix}: the job-status function failed (a status request got a 500)`, "AWS/Lambda", "Errors", { FunctionName: args.jobStatusFunctionName });
    for (const [id, functionName] of Object.entries(args.pageFunctionNames ?? {})) {
      alarm(`${id}-errors`, `${prefix}: the ${id} function failed (a request got a 500)`, "AWS/Lambda", "Errors", { FunctionName: functionName });
    }
    this.registerOutputs({ alarmTopicArn: this.topic.arn });
  }
}
