import { describe, expect, it } from "@jest/globals";
import { compile } from "../../pipeline/compile.js";
import { resolveReferences } from "../../pipeline/references.js";
import { spaceport } from "../../stages/spaceport.js";
import { parseInputLocation } from "../../functions/start-job/input-location.js";
import { ApiError } from "../../functions/errors.js";
import { testTarget } from "../pipeline/fixtures.js";
import { harness, KEYS, PARTNER, PROCESSING, UPLOADS, validBody } from "./helpers.js";
import { Script, processingCause } from "./scripts.js";

const JOB = "20261126-093012-1a2b3c4d";

describe("start-job: accepted requests", () => {
  it("copies the ZIP into the job's prefix and starts one execution named after the job id", async () => {
    const h = harness();
    const res = await h.call({ json: validBody });
    expect(res.status).toBe(202);
    expect(res.data).toEqual({
      jobId: JOB,
      state: "queued",
      statusUrl: `https://api.spaceport.example/jobs/${JOB}`,
      options: { quality: "standard" },
    });
    expect(res.headers["location"]).toBe(`https://api.spaceport.example/jobs/${JOB}`);
    expect(h.store.objects.has(`${PROCESSING}/jobs/${JOB}/input/photos.zip`)).toBe(true);
    expect(h.store.objects.has(`${UPLOADS}/surveys/site-1.zip`)).toBe(true); // the upload is never removed
    expect(h.executions.starts).toHaveLength(1);
    expect(h.executions.starts[0]!.name).toBe(JOB);
    expect(JSON.parse(h.executions.starts[0]!.input)).toEqual({
      jobId: JOB,
      inputUri: `s3://${PROCESSING}/jobs/${JOB}/input/photos.zip`,
      email: "pilot@example.com",
      options: { quality: "standard" },
      client: "website",
    });
  });

  it("logs the job id and client, never the email address", async () => {
    const h = harness();
    await h.call({ json: validBody });
    expect(h.logger.lines.find((l) => l.event === "job_started")?.fields).toMatchObject({ jobId: JOB, client: "website", email: "p***@e***.com" });
    expect(h.logger.text()).not.toContain("pilot@");
  });

  it("accepts the legacy POST /start-job body { s3Url, email }", async () => {
    const h = harness();
    const res = await h.call({ path: "/start-job", json: { s3Url: `https://${UPLOADS}.s3.us-west-2.amazonaws.com/surveys/site-1.zip`, email: "a@b.co" } });
    expect(res.status).toBe(202);
    expect(res.data.jobId).toBe(JOB);
  });

  it("reads URL-encoded keys from allow-listed buckets", async () => {
    const h = harness();
    const res = await h.call({ json: { ...validBody, input: `https://s3.amazonaws.com/${PARTNER}/incoming/Site%202%20(north).zip` } });
    expect(res.status).toBe(202);
    expect(h.store.calls).toContain(`copy ${PARTNER}/incoming/Site 2 (north).zip -> ${PROCESSING}/jobs/${JOB}/input/photos.zip`);
  });

  it("options.quality reaches the training stage's hyperparameters through the pipeline definition", async () => {
    const h = harness();
    const res = await h.call({ json: { ...validBody, options: { quality: "high" } } });
    expect(res.status).toBe(202);
    const input = JSON.parse(h.executions.starts[0]!.input) as Record<string, unknown>;
    const compiled = compile(spaceport, testTarget());
    const training = compiled.stages.find((s) => s.kind === "training")!;
    const lookup = (path: string): string => {
      let value: unknown = input;
      for (const part of path.replace(/^\$\./, "").split(".")) value = (value as Record<string, unknown>)?.[part];
      return String(value);
    };
    const hyper = resolveReferences(training.request.HyperParameters ?? {}, lookup);
    expect(hyper["quality"]).toBe("high");
    // the allowed values are the stage's jobOption, not a list in the handler
    expect(spaceport.options["quality"]!.values).toEqual(["preview", "standard", "high"]);
  });
});

describe("start-job: every rejection names its field", () => {
  const big = "x".repeat(17 * 1024);
  const cases: [string, Parameters<ReturnType<typeof harness>["call"]>[0], number, string][] = [
    ["wrong content type", { body: JSON.stringify(validBody), headers: { "content-type": "text/plain" } }, 415, "Content-Type"],
    ["no content type", { body: JSON.stringify(validBody) }, 415, "Content-Type"],
    ["oversized body", { json: { ...validBody, note: big } }, 413, "body"],
    ["malformed JSON", { body: "{\"input\": ", headers: { "content-type": "application/json" } }, 400, "body"],
    ["empty body", { body: "", headers: { "content-type": "application/json" } }, 400, "body"],
    ["array body", { json: [validBody] }, 400, "body"],
    ["too deeply nested", { json: { ...validBody, options: JSON.parse("[".repeat(20) + "]".repeat(20)) } }, 400, "body"],
    ["missing input", { json: { email: "a@b.co" } }, 400, "input"],
    ["input not a string", { json: { ...validBody, input: 42 } }, 400, "input"],
    ["unknown field", { json: { ...validBody, priority: "now" } }, 400, "priority"],
    ["prototype pollution key", { body: `{"input":"s3://${UPLOADS}/a.zip","email":"a@b.co","__proto__":{"admin":true}}`, headers: { "content-type": "application/json" } }, 400, "__proto__"],
    ["constructor key in options", { json: { ...validBody, options: { constructor: "x" } } }, 400, "constructor"],
    ["missing email", { json: { input: validBody.input } }, 400, "email"],
    ["invalid email", { json: { ...validBody, email: "pilot at example.com" } }, 400, "email"],
    ["email with a header injection", { json: { ...validBody, email: "a@b.co\r\nBcc: x@y.z" } }, 400, "email"],
    ["unknown option", { json: { ...validBody, options: { speed: "fast" } } }, 400, "options.speed"],
    ["unknown quality", { json: { ...validBody, options: { quality: "ultra" } } }, 400, "options.quality"],
    ["quality not a string", { json: { ...validBody, options: { quality: 3 } } }, 400, "options.quality"],
    ["options not an object", { json: { ...validBody, options: "high" } }, 400, "options"],
    ["bucket not allowed", { json: { ...validBody, input: "s3://someone-elses-bucket/photos.zip" } }, 403, "input"],
    ["key not a .zip", { json: { ...validBody, input: `s3://${UPLOADS}/surveys/site-1.tar` } }, 400, "input"],
    ["path traversal in the key", { json: { ...validBody, input: `s3://${UPLOADS}/surveys/../../etc/passwd.zip` } }, 400, "input"],
    ["encoded traversal in the key", { json: { ...validBody, input: `https://${UPLOADS}.s3.amazonaws.com/a/%2e%2e/b.zip` } }, 400, "input"],
    ["not an S3 URL", { json: { ...validBody, input: "https://example.com/photos.zip" } }, 400, "input"],
    ["plain http", { json: { ...validBody, input: `http://${UPLOADS}.s3.amazonaws.com/a.zip` } }, 400, "input"],
    ["bad %-escape", { json: { ...validBody, input: `https://${UPLOADS}.s3.amazonaws.com/a%zz.zip` } }, 400, "input"],
    ["input not found", { json: { ...validBody, input: `s3://${UPLOADS}/surveys/missing.zip` } }, 400, "input"],
    ["legacy: missing s3Url", { path: "/start-job", json: { email: "a@b.co" } }, 400, "s3Url"],
    ["legacy: bucket not allowed", { path: "/start-job", json: { s3Url: "s3://elsewhere-bucket/a.zip", email: "a@b.co" } }, 403, "s3Url"],
    ["legacy: new field name", { path: "/start-job", json: { input: validBody.input, email: "a@b.co" } }, 400, "input"],
    ["invalid Idempotency-Key", { json: validBody, headers: { "idempotency-key": "has spaces in it" } }, 400, "Idempotency-Key"],
    ["no API key", { json: validBody, headers: { authorization: undefined } }, 401, "Authorization"],
    ["wrong API key", { json: validBody, headers: { authorization: "Bearer sp_not-a-real-key-000000000" } }, 401, "Authorization"],
    ["wrong x-api-key", { json: validBody, headers: { authorization: undefined, "x-api-key": "sp_not-a-real-key-000000000" } }, 401, "x-api-key"],
    ["Basic auth", { json: validBody, headers: { authorization: "Basic dXNlcjpwYXNz" } }, 401, "Authorization"],
    ["DELETE on /jobs", { method: "DELETE", path: "/jobs" }, 405, "method"],
    ["unknown path", { path: "/admin", json: validBody }, 404, "path"],
  ];

  it.each(cases)("%s", async (_name, request, status, field) => {
    const h = harness();
    const res = await h.call(request);
    expect({ status: res.status, field: res.data?.error?.field }).toEqual({ status, field });
    expect(typeof res.data.error.message).toBe("string");
    expect(h.executions.starts).toHaveLength(0);
    expect([...h.store.objects.keys()].some((k) => k.startsWith(`${PROCESSING}/jobs/`))).toBe(false);
  });

  it("a ZIP above the size limit → 413 naming input", async () => {
    const h = harness();
    h.store.add(UPLOADS, "surveys/huge.zip", 1_000_001);
    const res = await h.call({ json: { ...validBody, input: `s3://${UPLOADS}/surveys/huge.zip` } });
    expect(res.status).toBe(413);
    expect(res.data.error.field).toBe("input");
    expect(res.data.error.message).toMatch(/1000001 bytes; the limit is 1000000/);
    expect(h.executions.starts).toHaveLength(0);
  });

  it("an empty ZIP → 400 naming input", async () => {
    const h = harness();
    h.store.add(UPLOADS, "surveys/empty.zip", 0);
    const res = await h.call({ json: { ...validBody, input: `s3://${UPLOADS}/surveys/empty.zip` } });
    expect([res.status, res.data.error.field]).toEqual([400, "input"]);
  });

  it("the 401 carries a Bearer challenge and the error says what to send", async () => {
    const res = await harness().call({ json: validBody, headers: { authorization: undefined } });
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(res.data.error.message).toMatch(/Authorization: Bearer/);
  });
});

describe("start-job: idempotency", () => {
  it("the same Idempotency-Key returns the same job id and starts nothing new", async () => {
    const h = harness();
    const headers = { "idempotency-key": "upload-7f3a" };
    const first = await h.call({ json: validBody, headers });
    h.clock.now += 3_600_000; // an hour later: the key still holds
    const second = await h.call({ json: validBody, headers });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(second.data.jobId).toBe(first.data.jobId);
    expect(h.executions.records.size).toBe(1);
    expect(h.executions.starts).toHaveLength(1);
  });

  it("a repeat replays a running or succeeded job; a failed or cancelled job does not block a new one", async () => {
    const h = harness();
    const headers = { "idempotency-key": "upload-7f3a" };
    const end = (id: string, status: "FAILED" | "ABORTED" | "TIMED_OUT" | "SUCCEEDED") => h.executions.records.set(id, { ...h.executions.records.get(id)!, status });
    const first = await h.call({ json: validBody, headers });
    const running = await h.call({ json: validBody, headers });
    expect([running.status, running.data.jobId, running.data.replayed, running.data.state]).toEqual([200, first.data.jobId, true, "running"]);

    end(first.data.jobId, "FAILED");
    const rerun = await h.call({ json: validBody, headers });
    expect(rerun.status).toBe(202);
    expect(rerun.data.jobId).not.toBe(first.data.jobId);
    expect(rerun.data.rerunOf).toBe(first.data.jobId);
    expect(rerun.headers["idempotent-replayed"]).toBeUndefined();
    const again = await h.call({ json: validBody, headers });
    expect([again.status, again.data.jobId]).toEqual([200, rerun.data.jobId]);

    for (const status of ["ABORTED", "TIMED_OUT"] as const) {
      const last = [...h.executions.records.keys()].at(-1)!;
      end(last, status);
      const next = await h.call({ json: validBody, headers });
      expect([next.status, next.data.rerunOf]).toEqual([202, last]);
    }
    const last = [...h.executions.records.keys()].at(-1)!;
    end(last, "SUCCEEDED");
    const done = await h.call({ json: validBody, headers });
    expect([done.status, done.data.jobId, done.data.state]).toEqual([200, last, "succeeded"]);
    expect(h.executions.starts.filter((s) => JSON.parse(s.input).jobId).length).toBe(4);
    expect(new Set(h.executions.records.keys()).size).toBe(4);
  });

  it("a job that failed but is still sending its failure email does not block a rerun", async () => {
    const h = harness();
    const a = await h.call({ json: validBody });
    const script = new Script(a.data.jobId).begin().run("sfm").submitted().fail("sfm", 60, "States.TaskFailed", processingCause("no photos")).notify("failed");
    h.executions.histories.set(a.data.jobId, script.events);
    const b = await h.call({ json: validBody });
    expect([b.status, b.data.rerunOf]).toEqual([202, a.data.jobId]);
  });

  it("without a key, resubmitting a failed job within the window starts a new one", async () => {
    const h = harness();
    const a = await h.call({ json: validBody });
    h.executions.records.set(a.data.jobId, { ...h.executions.records.get(a.data.jobId)!, status: "FAILED" });
    const b = await h.call({ json: validBody });
    expect(b.status).toBe(202);
    expect(b.data.rerunOf).toBe(a.data.jobId);
  });

  it("the same key from another client is a different job", async () => {
    const h = harness();
    const headers = { "idempotency-key": "upload-7f3a" };
    const a = await h.call({ json: validBody, headers });
    const b = await h.call({ json: validBody, headers: { ...headers, authorization: `Bearer ${KEYS.scripts}` } });
    expect(a.data.jobId).not.toBe(b.data.jobId);
    expect(h.executions.records.size).toBe(2);
  });

  it("reusing a key for a different request is a 409 naming Idempotency-Key", async () => {
    const h = harness();
    const headers = { "idempotency-key": "upload-7f3a" };
    await h.call({ json: validBody, headers });
    const res = await h.call({ json: { ...validBody, options: { quality: "high" } }, headers });
    expect([res.status, res.data.error.field]).toEqual([409, "Idempotency-Key"]);
    expect(h.executions.records.size).toBe(1);
  });

  it("without a key, the same body within the window is one job; after the window a new one", async () => {
    const h = harness();
    const a = await h.call({ json: validBody });
    const b = await h.call({ json: validBody });
    expect(b.data.jobId).toBe(a.data.jobId);
    h.clock.now += 601_000;
    const c = await h.call({ json: validBody });
    expect(c.status).toBe(202);
    expect(c.data.jobId).not.toBe(a.data.jobId);
    expect(h.executions.records.size).toBe(2);
  });

  it("a retry after a crash between the record and the start finishes the same job", async () => {
    const h = harness();
    const failing = h.executions.start.bind(h.executions);
    let calls = 0;
    h.executions.start = async (name, input) => {
      if (calls++ === 0) throw new Error("Lambda timed out");
      return failing(name, input);
    };
    const headers = { "idempotency-key": "k1" };
    const first = await h.call({ json: validBody, headers });
    expect(first.status).toBe(500);
    expect(first.data.error.message).not.toMatch(/Lambda timed out/); // internals are logged, not returned
    expect(h.logger.lines.some((l) => l.level === "error" && String(l.fields["message"]).includes("Lambda timed out"))).toBe(true);
    const second = await h.call({ json: validBody, headers });
    expect(second.status).toBe(202);
    expect(h.executions.records.size).toBe(1);
    expect([...h.executions.records.keys()]).toEqual([second.data.jobId]);
  });

  it("two concurrent requests with one key start one execution", async () => {
    const h = harness();
    const headers = { "idempotency-key": "same" };
    const [a, b] = await Promise.all([h.call({ json: validBody, headers }), h.call({ json: validBody, headers })]);
    expect(a.data.jobId).toBe(b.data.jobId);
    expect(h.executions.records.size).toBe(1);
  });
});

describe("start-job: abuse limits", () => {
  it("per-client token bucket: a burst beyond the limit gets 429 with Retry-After", async () => {
    const h = harness({}, { apiRateLimit: { ratePerSecond: 1, burst: 3, jobsPerDay: 50 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await h.call({ json: validBody })).status);
    expect(statuses.slice(0, 3).every((s) => s < 300)).toBe(true);
    const limited = await h.call({ json: validBody });
    expect([limited.status, limited.data.error.field]).toEqual([429, "client"]);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // another client is not affected
    const other = await h.call({ json: validBody, headers: { authorization: `Bearer ${KEYS.scripts}` } });
    expect(other.status).toBe(202);
    // tokens come back with time
    h.clock.now += 2000;
    expect((await h.call({ json: validBody })).status).toBe(200);
  });

  it("failed authentication is rate limited per source IP", async () => {
    const h = harness({}, { apiRateLimit: { ratePerSecond: 1, burst: 2, jobsPerDay: 50 } });
    const bad = { json: validBody, headers: { authorization: "Bearer sp_guess-000000000000000" }, sourceIp: "203.0.113.9" };
    expect((await h.call(bad)).status).toBe(401);
    expect((await h.call(bad)).status).toBe(401);
    expect((await h.call(bad)).status).toBe(429);
  });

  it("daily job quota per client → 429 naming client", async () => {
    const h = harness({}, { apiRateLimit: { ratePerSecond: 100, burst: 100, jobsPerDay: 2 } });
    for (const name of ["a", "b"]) {
      h.store.add(UPLOADS, `surveys/${name}.zip`, 10);
      expect((await h.call({ json: { ...validBody, input: `s3://${UPLOADS}/surveys/${name}.zip` } })).status).toBe(202);
    }
    h.store.add(UPLOADS, "surveys/c.zip", 10);
    const res = await h.call({ json: { ...validBody, input: `s3://${UPLOADS}/surveys/c.zip` } });
    expect([res.status, res.data.error.field]).toEqual([429, "client"]);
    expect(h.executions.records.size).toBe(2);
    // a replay of an accepted job is not a new job and is still answered
    expect((await h.call({ json: { ...validBody, input: `s3://${UPLOADS}/surveys/a.zip` } })).status).toBe(200);
  });
});

describe("input locations", () => {
  const cases: [string, { bucket: string; key: string; region?: string }][] = [
    ["s3://my-bucket/a/b.zip", { bucket: "my-bucket", key: "a/b.zip" }],
    ["s3://my-bucket/a b.ZIP", { bucket: "my-bucket", key: "a b.ZIP" }],
    ["https://my-bucket.s3.amazonaws.com/a/b.zip", { bucket: "my-bucket", key: "a/b.zip" }],
    ["https://my-bucket.s3.eu-west-1.amazonaws.com/a/b.zip", { bucket: "my-bucket", key: "a/b.zip", region: "eu-west-1" }],
    ["https://s3.amazonaws.com/my-bucket/a/b.zip", { bucket: "my-bucket", key: "a/b.zip" }],
    ["https://s3.us-west-2.amazonaws.com/my-bucket/a/b.zip", { bucket: "my-bucket", key: "a/b.zip", region: "us-west-2" }],
    ["https://my.dotted.bucket.s3.amazonaws.com/x.zip", { bucket: "my.dotted.bucket", key: "x.zip" }],
    ["https://my-bucket.s3.amazonaws.com/Caf%C3%A9%20survey%2B1.zip?X-Amz-Signature=abc", { bucket: "my-bucket", key: "Café survey+1.zip" }],
    ["HTTPS://MY-BUCKET.S3.AMAZONAWS.COM/Key.zip", { bucket: "my-bucket", key: "Key.zip" }],
  ];
  it.each(cases)("%s", (text, expected) => {
    expect(parseInputLocation(text)).toEqual(expected);
  });

  const rejected = [
    "s3://my-bucket/",
    "s3://my-bucket/dir/",
    "s3://my-bucket/.zip",
    "s3://My_Bucket/a.zip",
    "s3://my-bucket//a.zip",
    "s3://my-bucket/a/./b.zip",
    "s3://192.168.1.1/a.zip",
    "https://my-bucket.s3.amazonaws.com:8443/a.zip",
    "https://user:pw@my-bucket.s3.amazonaws.com/a.zip",
    "https://my-bucket.s3.amazonaws.com.evil.com/a.zip",
    "https://s3.amazonaws.com/my-bucket",
    "https://my-bucket.s3.not_a_region.amazonaws.com/a.zip",
    "https://my-bucket.s3.amazonaws.com/a%00.zip",
    "https://my-bucket.s3.amazonaws.com/a\\..\\b.zip",
    "file:///etc/passwd.zip",
    "s3://my-bucket/" + "k/".repeat(600) + "a.zip",
  ];
  it.each(rejected)("rejects %s", (text) => {
    expect(() => parseInputLocation(text)).toThrow(ApiError);
    try {
      parseInputLocation(text, "s3Url");
    } catch (error) {
      expect((error as ApiError).status).toBe(400);
      expect((error as ApiError).field).toBe("s3Url");
    }
  });
});
