/**
 * The functions' side of a deployment's limits and ownership checks: ExpectedBucketOwner on
 * every S3 request, the running-execution count, the admission limit derived from capacity,
 * and the submitter told at submission when the queue is more than a day of work.
 */
import { beforeEach, describe, expect, it } from "@jest/globals";
import { mockClient } from "aws-sdk-client-mock";
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { S3ObjectStore } from "../../functions/adapters/aws/object-store.js";
import { StepFunctionsExecutions } from "../../functions/adapters/aws/executions.js";
import { s3Store } from "../../functions/adapters/aws/index.js";
import { harness, testConfig, validBody } from "./helpers.js";

const s3 = mockClient(S3Client);
const sfn = mockClient(SFNClient);
beforeEach(() => {
  s3.reset();
  sfn.reset();
});

const PROD_QUOTAS = [
  { instanceType: "ml.g4dn.xlarge", jobKind: "training", count: 1 },
  { instanceType: "ml.c6i.2xlarge", jobKind: "processing", count: 1 },
  { instanceType: "ml.c6i.4xlarge", jobKind: "processing", count: 2 },
];

describe("S3 requests carry the stack's account as the expected bucket owner", () => {
  it("head, get, put, conditional put, list and copy (source too)", async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1 });
    s3.on(GetObjectCommand).resolves({});
    s3.on(PutObjectCommand).resolves({});
    s3.on(ListObjectsV2Command).resolves({ Contents: [] });
    s3.on(CopyObjectCommand).resolves({});
    const store = s3Store({ SPACEPORT_ACCOUNT_ID: "123456789012" }, testConfig());
    expect(store).toBeInstanceOf(S3ObjectStore);
    await store.head("partner-surveys", "a.zip");
    await store.getText("p", "k");
    await store.putText("p", "k", "x");
    await store.putTextIfAbsent("p", "k2", "x");
    await store.list("p", "quota/");
    await store.copyIfAbsent({ bucket: "partner-surveys", key: "a.zip" }, { bucket: "p", key: "jobs/j/input/photos.zip" });
    for (const command of [HeadObjectCommand, GetObjectCommand, PutObjectCommand, ListObjectsV2Command, CopyObjectCommand]) {
      for (const call of s3.commandCalls(command as never)) expect((call.args[0] as { input: Record<string, unknown> }).input["ExpectedBucketOwner"]).toBe("123456789012");
    }
    expect(s3.commandCalls(CopyObjectCommand)[0]!.args[0].input.ExpectedSourceBucketOwner).toBe("123456789012");
  });
});

describe("running executions", () => {
  it("counted through pages, stopping once the caller's number is reached", async () => {
    const page = (n: number, token?: string) => ({ executions: Array.from({ length: n }, () => ({}) as never), ...(token ? { nextToken: token } : {}) });
    sfn.on(ListExecutionsCommand).resolvesOnce(page(1000, "t1")).resolvesOnce(page(1000, "t2")).resolvesOnce(page(5));
    const executions = new StepFunctionsExecutions(new SFNClient({ region: "us-west-2" }), "arn:aws:states:us-west-2:1:stateMachine:m");
    expect(await executions.countRunning(1500)).toBe(2000);
    expect(sfn.commandCalls(ListExecutionsCommand)).toHaveLength(2);
    expect(sfn.commandCalls(ListExecutionsCommand)[0]!.args[0].input).toMatchObject({ statusFilter: "RUNNING", stateMachineArn: "arn:aws:states:us-west-2:1:stateMachine:m" });
  });
});

describe("start-job admission", () => {
  it("jobs per client per day default to what the quotas can run in a day (16 for prod's quotas)", async () => {
    const h = harness({}, { quotas: PROD_QUOTAS, apiRateLimit: { ratePerSecond: 100, burst: 100 } });
    for (let i = 0; i < 16; i++) {
      h.clock.now += 1000;
      expect((await h.call({ json: { ...validBody, options: { quality: i % 2 ? "preview" : "standard" } }, headers: { "idempotency-key": `k${i}` } })).status).toBe(202);
    }
    const refused = await h.call({ json: validBody, headers: { "idempotency-key": "k-last" } });
    expect(refused.status).toBe(429);
    expect(refused.data.error.message).toMatch(/16 jobs per day/);
  });

  it("a configured jobsPerDay above capacity is lowered to capacity", async () => {
    const h = harness({}, { quotas: PROD_QUOTAS, apiRateLimit: { ratePerSecond: 100, burst: 100, jobsPerDay: 50 } });
    for (let i = 0; i < 16; i++) await h.call({ json: validBody, headers: { "idempotency-key": `k${i}` } });
    expect((await h.call({ json: validBody, headers: { "idempotency-key": "k-last" } })).status).toBe(429);
  });

  it("the submitter is told when the jobs ahead are more than a day of work", async () => {
    const h = harness({}, { quotas: PROD_QUOTAS, apiRateLimit: { ratePerSecond: 100, burst: 100 } });
    let running = 3;
    Object.assign(h.executions, { countRunning: async (atLeast: number) => Math.min(running, atLeast) });
    const short = await h.call({ json: validBody, headers: { "idempotency-key": "a" } });
    expect(short.status).toBe(202);
    expect(short.data.warning).toBeUndefined();
    running = 30;
    const long = await h.call({ json: validBody, headers: { "idempotency-key": "b" } });
    expect(long.status).toBe(202);
    expect(long.data.warning).toMatch(/^30 jobs are queued or running ahead of this one, about 45 h of work .*16 jobs a day.* more than a day/);
  });
});
