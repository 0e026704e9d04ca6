/** The Lambda wrappers end to end on mocked AWS clients: API Gateway v2 event in, SDK commands out. */
import { beforeAll, beforeEach, describe, expect, it } from "@jest/globals";
import { createHash } from "node:crypto";
import { mockClient } from "aws-sdk-client-mock";
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DescribeExecutionCommand, ExecutionDoesNotExist, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { fromApiGatewayV2, createRouter } from "../../functions/http.js";
import { silentLogger } from "../../functions/log.js";

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
const ses = mockClient(SESv2Client);
const KEY = "sp_lambda-test-key-0123456789";
const ARN = "arn:aws:states:us-west-2:123456789012:stateMachine:spaceport-prod";

beforeAll(() => {
  Object.assign(process.env, {
    SPACEPORT_ENVIRONMENT: "prod",
    SPACEPORT_CONFIG: JSON.stringify({
      region: "us-west-2",
      quotas: [],
      sesSender: "jobs@spaceport.example",
      alarmEmail: "ops@spaceport.example",
      apiKeys: { website: createHash("sha256").update(KEY).digest("hex") },
    }),
    SPACEPORT_PROCESSING_BUCKET: "sp-processing",
    SPACEPORT_UPLOADS_BUCKET: "sp-uploads",
    SPACEPORT_STATE_MACHINE_ARN: ARN,
    SPACEPORT_DELIVERY_BASE_URL: "https://d9.cloudfront.net",
    SPACEPORT_API_BASE_URL: "https://api.spaceport.example/",
  });
});
beforeEach(() => {
  s3.reset();
  sfn.reset();
  ses.reset();
});

const event = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => ({
  rawPath: path,
  headers: { Authorization: `Bearer ${KEY}`, "Content-Type": "application/json", ...headers },
  ...(body !== undefined ? { body: Buffer.from(JSON.stringify(body)).toString("base64"), isBase64Encoded: true } : {}),
  requestContext: { requestId: "req-1", http: { method, path, sourceIp: "198.51.100.7" } },
});

describe("start-job Lambda", () => {
  it("validates, copies, records and starts through S3 and Step Functions", async () => {
    const { handler } = await import("../../stages/lambda/start-job.js");
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1234 });
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "none", $metadata: {} }));
    s3.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    s3.on(PutObjectCommand).resolves({});
    s3.on(CopyObjectCommand).resolves({});
    sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "none", $metadata: {} }));
    sfn.on(StartExecutionCommand).resolves({ executionArn: "x", startDate: new Date() });

    const result = await handler(event("POST", "/jobs", { input: "s3://sp-uploads/a/site.zip", email: "p@example.com", options: { quality: "preview" } }, { "Idempotency-Key": "abc" }));
    expect(result.statusCode).toBe(202);
    const body = JSON.parse(result.body);
    expect(body.jobId).toMatch(/^\d{8}-\d{6}-[0-9a-f]{8}$/);
    expect(body.statusUrl).toBe(`https://api.spaceport.example/jobs/${body.jobId}`);
    expect(result.headers["x-request-id"]).toBe("req-1");

    expect(s3.commandCalls(HeadObjectCommand)[0]!.args[0].input).toEqual({ Bucket: "sp-uploads", Key: "a/site.zip" });
    expect(s3.commandCalls(CopyObjectCommand)[0]!.args[0].input).toEqual({ Bucket: "sp-processing", Key: `jobs/${body.jobId}/input/photos.zip`, CopySource: "sp-uploads/a/site.zip", TaggingDirective: "REPLACE", IfNoneMatch: "*" });
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts[0]).toMatchObject({ Bucket: "sp-processing", Key: expect.stringMatching(/^idempotency\/[0-9a-f]{64}\.json$/), IfNoneMatch: "*" });
    expect(puts[1]).toMatchObject({ Bucket: "sp-processing", Key: `quota/website/${body.jobId.slice(0, 4)}-${body.jobId.slice(4, 6)}-${body.jobId.slice(6, 8)}/${body.jobId}` });
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe(ARN);
    expect(start.name).toBe(body.jobId);
    expect(JSON.parse(start.input!)).toEqual({
      jobId: body.jobId,
      inputUri: `s3://sp-processing/jobs/${body.jobId}/input/photos.zip`,
      email: "p@example.com",
      options: { quality: "preview" },
      client: "website",
    });
  });

  it("rejects before touching AWS", async () => {
    const { handler } = await import("../../stages/lambda/start-job.js");
    const result = await handler(event("POST", "/jobs", { input: "s3://other-bucket/a.zip", email: "p@example.com" }));
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body).error.field).toBe("input");
    expect(s3.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe("job-status Lambda", () => {
  it("reads DescribeExecution and GetExecutionHistory", async () => {
    const { handler } = await import("../../stages/lambda/job-status.js");
    const id = "20261126-093012-1a2b3c4d";
    sfn.on(DescribeExecutionCommand).resolves({ name: id, status: "RUNNING", startDate: new Date("2026-11-26T09:30:12Z"), input: JSON.stringify({ jobId: id, client: "website", options: { quality: "high" } }), executionArn: "e", stateMachineArn: ARN });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [{ id: 1, timestamp: new Date(), type: "ExecutionStarted" }] });
    const result = await handler(event("GET", `/jobs/${id}`));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ jobId: id, state: "queued", options: { quality: "high" } });
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: `arn:aws:states:us-west-2:123456789012:execution:spaceport-prod:${id}` });
  });
});

describe("notify Lambda", () => {
  it("sends the failure email through SES and records it", async () => {
    const { handler } = await import("../../stages/lambda/notify.js");
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "none", $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-1" });
    const id = "20261126-093012-1a2b3c4d";
    const result = await handler({
      jobId: id, email: "p@example.com", options: { quality: "standard" }, stages: {}, pipeline: "spaceport-ml", status: "failed",
      failure: { stage: "sfm", error: { Error: "States.TaskFailed", Cause: JSON.stringify({ ExitMessage: "the ZIP holds no JPEG photos; zip the photo folder itself" }) } },
    });
    expect(result).toEqual({ jobId: id, status: "failed", sent: true, messageId: "ses-1" });
    const sent = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
    expect(sent.FromEmailAddress).toBe("jobs@spaceport.example");
    expect(sent.Content?.Simple?.Body?.Text?.Data).toContain("the ZIP holds no JPEG photos; zip the photo folder itself");
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(`jobs/${id}/status/notification-failed.json`);
  });

  it("an EventBridge execution status change (a timeout no Catch saw) mails the submitter once", async () => {
    const { handler } = await import("../../stages/lambda/notify.js");
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "none", $metadata: {} }));
    s3.on(PutObjectCommand).resolves({});
    ses.on(SendEmailCommand).resolves({ MessageId: "ses-2" });
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const id = "20261126-093012-1a2b3c4d";
    const result = await handler({
      source: "aws.states",
      "detail-type": "Step Functions Execution Status Change",
      detail: { name: id, status: "TIMED_OUT", input: JSON.stringify({ jobId: id, email: "p@example.com", options: { quality: "standard" } }), error: null, cause: null },
    });
    expect(result).toEqual({ jobId: id, status: "failed", sent: true, messageId: "ses-2" });
    expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input.Destination?.ToAddresses).toEqual(["p@example.com"]);
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(`jobs/${id}/status/notification-failed.json`);
  });
});

describe("router details", () => {
  it("API Gateway v2 events: lower-cased headers, base64 bodies", () => {
    const request = fromApiGatewayV2(event("POST", "/jobs", { a: 1 }, { "X-Thing": "y" }));
    expect(request).toMatchObject({ method: "POST", path: "/jobs", sourceIp: "198.51.100.7", requestId: "req-1" });
    expect(request.headers["x-thing"]).toBe("y");
    expect(Buffer.from(request.body as Uint8Array).toString()).toBe('{"a":1}');
  });

  it("CORS: allowed origins get headers, preflights need no key", async () => {
    const router = createRouter(
      [{ method: "GET", path: "/jobs/{id}", handle: async (c) => ({ status: 200, body: { id: c.params["id"] } }) }],
      { apiKeys: [], rateLimit: { ratePerSecond: 10, burst: 10 }, maxBodyBytes: 100, log: silentLogger, corsOrigins: ["https://app.example"] },
    );
    const preflight = await router({ method: "OPTIONS", path: "/jobs/x", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(preflight.headers["access-control-allow-headers"]).toMatch(/idempotency-key/);
    const other = await router({ method: "OPTIONS", path: "/jobs/x", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("a handler's unexpected error is a 500 without internals, logged with the request id", async () => {
    const lines: unknown[] = [];
    const router = createRouter(
      [{ method: "GET", path: "/boom", handle: async () => { throw new Error("db password is hunter2"); } }],
      { apiKeys: [{ client: "c", sha256: createHash("sha256").update(KEY).digest() }], rateLimit: { ratePerSecond: 10, burst: 10 }, maxBodyBytes: 100, log: (...args) => void lines.push(args) },
    );
    const res = await router({ method: "GET", path: "/boom", headers: { authorization: `Bearer ${KEY}` }, requestId: "r-9" });
    expect(res.status).toBe(500);
    expect(res.body).not.toContain("hunter2");
    expect(res.body).toContain("r-9");
    expect(JSON.stringify(lines)).toContain("hunter2");
  });
});
