import { beforeEach, describe, expect, it } from "@jest/globals";
import { mockClient } from "aws-sdk-client-mock";
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, NotFound, PutObjectCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, ExecutionAlreadyExists, ExecutionDoesNotExist, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { MessageRejected, SendEmailCommand, SESv2Client, TooManyRequestsException } from "@aws-sdk/client-sesv2";
import { S3ObjectStore } from "../../functions/adapters/aws/object-store.js";
import { StepFunctionsExecutions, executionArn } from "../../functions/adapters/aws/executions.js";
import { SesMailer } from "../../functions/adapters/aws/mailer.js";

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);
beforeEach(() => {
  s3.reset();
  sfn.reset();
  ses.reset();
});

const meta = { httpStatusCode: 404, $metadata: {} };
const store = () => new S3ObjectStore(new S3Client({ region: "us-west-2" }), { region: "us-west-2", publicBaseUrl: "https://d123.cloudfront.net/" });

describe("S3ObjectStore", () => {
  it("head: HeadObject; NotFound → undefined", async () => {
    s3.on(HeadObjectCommand, { Bucket: "b", Key: "a/x.zip" }).resolves({ ContentLength: 42, ContentType: "application/zip" });
    s3.on(HeadObjectCommand, { Bucket: "b", Key: "missing.zip" }).rejects(new NotFound({ message: "NotFound", $metadata: { httpStatusCode: 404 } }));
    expect(await store().head("b", "a/x.zip")).toEqual({ size: 42, contentType: "application/zip" });
    expect(await store().head("b", "missing.zip")).toBeUndefined();
    expect(s3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: "b", Key: "a/x.zip" }, { Bucket: "b", Key: "missing.zip" }]);
  });

  it("head: access denied is an error, not 'missing'", async () => {
    s3.on(HeadObjectCommand).rejects(new S3ServiceException({ name: "Forbidden", $fault: "client", message: "Forbidden", $metadata: { httpStatusCode: 403 } }));
    await expect(store().head("b", "k.zip")).rejects.toThrow(/Forbidden/);
  });

  it("getText: GetObject body as UTF-8; NoSuchKey → undefined", async () => {
    s3.on(GetObjectCommand, { Bucket: "b", Key: "r.json" }).resolves({ Body: { transformToString: async (encoding?: string) => Buffer.from('{"ü":1}').toString((encoding ?? "utf-8") as BufferEncoding) } as never });
    s3.on(GetObjectCommand, { Bucket: "b", Key: "none" }).rejects(new NoSuchKey({ message: "no", $metadata: meta }));
    expect(await store().getText("b", "r.json")).toBe('{"ü":1}');
    expect(await store().getText("b", "none")).toBeUndefined();
  });

  it("putText and putTextIfAbsent: PutObject, the latter with If-None-Match: *", async () => {
    s3.on(PutObjectCommand).resolvesOnce({}).resolvesOnce({}).rejectsOnce(new S3ServiceException({ name: "PreconditionFailed", $fault: "client", message: "At least one of the pre-conditions you specified did not hold", $metadata: { httpStatusCode: 412 } }));
    await store().putText("b", "k.json", "{}", "application/json");
    expect(await store().putTextIfAbsent("b", "idempotency/x.json", "{}", "application/json")).toBe(true);
    expect(await store().putTextIfAbsent("b", "idempotency/x.json", "{}", "application/json")).toBe(false);
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: "b", Key: "k.json", Body: "{}", ContentType: "application/json" },
      { Bucket: "b", Key: "idempotency/x.json", Body: "{}", ContentType: "application/json", IfNoneMatch: "*" },
      { Bucket: "b", Key: "idempotency/x.json", Body: "{}", ContentType: "application/json", IfNoneMatch: "*" },
    ]);
  });

  it("copyIfAbsent: a conditional CopyObject with a URL-encoded CopySource, dropping the source's tags", async () => {
    s3.on(CopyObjectCommand).resolvesOnce({}).rejectsOnce(Object.assign(new Error("At least one of the pre-conditions you specified did not hold"), { name: "PreconditionFailed", $metadata: { httpStatusCode: 412 } }));
    expect(await store().copyIfAbsent({ bucket: "up", key: "in/Site 2 (north)+é.zip" }, { bucket: "proc", key: "jobs/j/input/photos.zip" })).toBe(true);
    expect(s3.commandCalls(CopyObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: "proc",
      Key: "jobs/j/input/photos.zip",
      CopySource: "up/in/Site%202%20(north)%2B%C3%A9.zip",
      TaggingDirective: "REPLACE",
      IfNoneMatch: "*",
    });
    expect(await store().copyIfAbsent({ bucket: "up", key: "in/a.zip" }, { bucket: "proc", key: "jobs/j/input/photos.zip" })).toBe(false);
  });

  it("list: ListObjectsV2 through every page", async () => {
    s3.on(ListObjectsV2Command, { Bucket: "b", Prefix: "quota/web/" })
      .resolvesOnce({ Contents: [{ Key: "quota/web/1", Size: 1 }], IsTruncated: true, NextContinuationToken: "t1" })
      .resolvesOnce({ Contents: [{ Key: "quota/web/2", Size: 2 }], IsTruncated: false });
    expect(await store().list("b", "quota/web/")).toEqual([{ key: "quota/web/1", size: 1 }, { key: "quota/web/2", size: 2 }]);
    expect(s3.commandCalls(ListObjectsV2Command).map((c) => c.args[0].input)).toEqual([
      { Bucket: "b", Prefix: "quota/web/" },
      { Bucket: "b", Prefix: "quota/web/", ContinuationToken: "t1" },
    ]);
  });

  it("publicUrl: under the delivery base URL, path-encoded", async () => {
    expect(await store().publicUrl("b", "jobs/j/delivery/index.html")).toBe("https://d123.cloudfront.net/jobs/j/delivery/index.html");
    const plain = new S3ObjectStore(new S3Client({ region: "eu-west-1" }), { region: "eu-west-1" });
    expect(await plain.publicUrl("b", "a b.txt")).toBe("https://b.s3.eu-west-1.amazonaws.com/a%20b.txt");
  });
});

describe("StepFunctionsExecutions", () => {
  const ARN = "arn:aws:states:us-west-2:123456789012:stateMachine:spaceport-prod";
  const EXEC = "arn:aws:states:us-west-2:123456789012:execution:spaceport-prod:20261126-093012-1a2b3c4d";
  const executions = () => new StepFunctionsExecutions(new SFNClient({ region: "us-west-2" }), ARN);

  it("derives the execution ARN from the state machine ARN", () => {
    expect(executionArn(ARN, "20261126-093012-1a2b3c4d")).toBe(EXEC);
    expect(() => executionArn("arn:aws:lambda:us-west-2:1:function:x", "n")).toThrow(/state machine ARN/);
  });

  it("start: StartExecution named after the job, once", async () => {
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "no", $metadata: {} }));
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXEC, startDate: new Date() });
    expect(await executions().start("20261126-093012-1a2b3c4d", '{"jobId":"x"}')).toEqual({ started: true });
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({ stateMachineArn: ARN, name: "20261126-093012-1a2b3c4d", input: '{"jobId":"x"}' });
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: EXEC });
  });

  it("start: an existing execution starts nothing (found, or ExecutionAlreadyExists on a race)", async () => {
    sfn.on(DescribeExecutionCommand).resolvesOnce({ name: "n", status: "RUNNING", startDate: new Date(), input: "{}", executionArn: EXEC, stateMachineArn: ARN });
    expect(await executions().start("n", "{}")).toEqual({ started: false });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    sfn.reset();
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "no", $metadata: {} }));
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: "exists", $metadata: {} }));
    expect(await executions().start("n", "{}")).toEqual({ started: false });
  });

  it("describe: DescribeExecution → ExecutionRecord; unknown → undefined", async () => {
    const start = new Date("2026-11-26T09:30:12Z");
    const stop = new Date("2026-11-26T11:30:12Z");
    sfn.on(DescribeExecutionCommand).resolvesOnce({ name: "n", status: "FAILED", startDate: start, stopDate: stop, input: "{}", error: "StageFailed", cause: "sfm", executionArn: EXEC, stateMachineArn: ARN });
    expect(await executions().describe("n")).toEqual({ name: "n", status: "FAILED", startDate: start, stopDate: stop, input: "{}", error: "StageFailed", cause: "sfm" });
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "no", $metadata: {} }));
    expect(await executions().describe("n")).toBeUndefined();
  });

  it("history: GetExecutionHistory with data, every page, mapped to ExecutionEvent", async () => {
    const t = new Date("2026-11-26T09:30:13Z");
    sfn.on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [
          { id: 1, timestamp: t, type: "TaskStateEntered", stateEnteredEventDetails: { name: "Run sfm", input: '{"a":1}' } },
          { id: 2, timestamp: t, type: "TaskSubmitFailed", taskSubmitFailedEventDetails: { resourceType: "sagemaker", resource: "createProcessingJob.sync", error: "SageMaker.ResourceLimitExceeded", cause: "quota" } },
        ],
        nextToken: "p2",
      })
      .resolvesOnce({ events: [{ id: 3, timestamp: t, type: "TaskStateExited", stateExitedEventDetails: { name: "Run sfm", output: '{"b":2}' } }] });
    expect(await executions().history("n")).toEqual([
      { id: 1, timestamp: t, type: "TaskStateEntered", stateName: "Run sfm", json: '{"a":1}' },
      { id: 2, timestamp: t, type: "TaskSubmitFailed", error: "SageMaker.ResourceLimitExceeded", cause: "quota" },
      { id: 3, timestamp: t, type: "TaskStateExited", stateName: "Run sfm", json: '{"b":2}' },
    ]);
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: executionArn(ARN, "n"), maxResults: 1000, includeExecutionData: true },
      { executionArn: executionArn(ARN, "n"), maxResults: 1000, includeExecutionData: true, nextToken: "p2" },
    ]);
  });
});

describe("SesMailer", () => {
  const message = { to: "jane@example.com", subject: "Ready", html: "<p>hi</p>", text: "hi", jobId: "20261126-093012-1a2b3c4d" };
  const sleeps: number[] = [];
  const mailer = (extra = {}) =>
    new SesMailer(new SESv2Client({ region: "us-west-2" }), { from: "jobs@spaceport.example", sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...extra });

  it("SendEmail with HTML and text parts, the sender and a job tag", async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: "m-1" });
    expect(await mailer({ configurationSetName: "spaceport" }).send(message)).toEqual({ messageId: "m-1" });
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input).toEqual({
      FromEmailAddress: "jobs@spaceport.example",
      Destination: { ToAddresses: ["jane@example.com"] },
      Content: {
        Simple: {
          Subject: { Data: "Ready", Charset: "UTF-8" },
          Body: { Html: { Data: "<p>hi</p>", Charset: "UTF-8" }, Text: { Data: "hi", Charset: "UTF-8" } },
        },
      },
      EmailTags: [{ Name: "jobId", Value: "20261126-093012-1a2b3c4d" }],
      ConfigurationSetName: "spaceport",
    });
  });

  it("retries throttling with growing backoff, then succeeds", async () => {
    sleeps.length = 0;
    const throttled = () => new TooManyRequestsException({ message: "Maximum sending rate exceeded", $metadata: {} });
    ses.on(SendEmailCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({ MessageId: "m-2" });
    expect(await mailer().send(message)).toEqual({ messageId: "m-2" });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(3);
    expect(sleeps).toEqual([150, 300]);
  });

  it("gives up after maxAttempts of throttling, and does not retry other errors", async () => {
    ses.on(SendEmailCommand).rejects(new TooManyRequestsException({ message: "slow down", $metadata: {} }));
    await expect(mailer({ maxAttempts: 3 }).send(message)).rejects.toThrow(/slow down/);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(3);
    ses.reset();
    ses.on(SendEmailCommand).rejects(new MessageRejected({ message: "Email address is not verified", $metadata: {} }));
    await expect(mailer().send(message)).rejects.toThrow(/not verified/);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
  });
});

describe("CloudWatchStageProgress", () => {
  it("reads the latest progress line of the job's log streams, recent window first", async () => {
    const { CloudWatchStageProgress } = await import("../../functions/adapters/aws/stage-progress.js");
    const calls: unknown[] = [];
    const pages = [
      { events: [{ message: "progress: 10% features", timestamp: 1 }, { message: "step=100/3000 loss=0.2", timestamp: 2 }], nextToken: "n" },
      { events: [{ message: "progress: 37.5% matching", timestamp: 3 }] },
    ];
    const reader = { filterLogEvents: async (input: object) => (calls.push(input), pages.shift() ?? {}) };
    const progress = new CloudWatchStageProgress(reader, { now: () => 10_000_000 });
    expect(await progress.latest("processing", "20261126-093012-1a2b3c4d-sfm-1")).toBe(37.5);
    expect(calls).toEqual([
      { logGroupName: "/aws/sagemaker/ProcessingJobs", logStreamNamePrefix: "20261126-093012-1a2b3c4d-sfm-1/", filterPattern: '"progress:"', startTime: 10_000_000 - 1_800_000 },
      { logGroupName: "/aws/sagemaker/ProcessingJobs", logStreamNamePrefix: "20261126-093012-1a2b3c4d-sfm-1/", filterPattern: '"progress:"', startTime: 10_000_000 - 1_800_000, nextToken: "n" },
    ]);
  });

  it("falls back to the whole log when the stage was quiet; undefined without any progress line", async () => {
    const { CloudWatchStageProgress } = await import("../../functions/adapters/aws/stage-progress.js");
    const seen: { startTime?: number; logGroupName: string }[] = [];
    const reader = {
      filterLogEvents: async (input: { startTime?: number; logGroupName: string }) => {
        seen.push(input);
        return input.startTime === undefined ? { events: [{ message: "progress: 55% training", timestamp: 5 }] } : { events: [] };
      },
    };
    expect(await new CloudWatchStageProgress(reader).latest("training", "j-gaussian-splatting-1")).toBe(55);
    expect(seen.map((s) => [s.logGroupName, s.startTime === undefined])).toEqual([["/aws/sagemaker/TrainingJobs", false], ["/aws/sagemaker/TrainingJobs", true]]);
    const empty = { filterLogEvents: async () => ({ events: [{ message: "no progress here" }] }) };
    expect(await new CloudWatchStageProgress(empty).latest("training", "j")).toBeUndefined();
  });
});
