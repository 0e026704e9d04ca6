import { describe, expect, it } from "@jest/globals";
import { createApi } from "../../functions/api.js";
import { fromApiGatewayV2, type ApiGatewayV2Event } from "../../functions/http.js";
import { FakeExecutions, KEYS, MemoryStore, PROCESSING, RecordingLogger, testConfig, UPLOADS } from "./helpers.js";
import type { MultipartUploads } from "../../functions/ports.js";

const uploads: MultipartUploads = {
  create: async () => "UPLOAD",
  partUrls: async (_t, numbers) => numbers.map((n) => `https://signed/${n}`),
  listParts: async () => [],
  complete: async () => undefined,
  abort: async () => undefined,
};

function api() {
  const store = new MemoryStore();
  store.add(UPLOADS, "surveys/site-1.zip", 50_000);
  const executions = new FakeExecutions();
  const router = createApi({ store, executions, uploads, log: new RecordingLogger().log }, testConfig());
  const send = async (method: string, path: string, options: { sub?: string; key?: string; json?: unknown } = {}) => {
    const event: ApiGatewayV2Event = {
      rawPath: path,
      headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...(options.json ? { "content-type": "application/json" } : {}) },
      ...(options.json ? { body: JSON.stringify(options.json) } : {}),
      requestContext: { http: { method, path }, ...(options.sub ? { authorizer: { jwt: { claims: { sub: options.sub, email: "pilot@example.com" } } } } : {}) },
    };
    const response = await router(fromApiGatewayV2(event));
    return { status: response.status, data: JSON.parse(response.body) as any };
  };
  return { store, executions, send };
}

const ALICE = "0f6c2a4e-5b1d-4c3e-9a8b-7d6e5f4a3b2c";
const BOB = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d";

describe("signed-in users (JWT authorizer claims) on /me/...", () => {
  it("a verified user is the client user-<sub>: their uploads and jobs are theirs alone", async () => {
    const { store, executions, send } = api();
    const upload = await send("POST", "/me/uploads", { sub: ALICE, json: { name: "site.zip", size: 1000 } });
    expect(upload.status).toBe(201);
    expect(JSON.parse((await store.getText(PROCESSING, `uploads/${upload.data.uploadId}.json`))!).client).toBe(`user-${ALICE}`);
    expect((await send("GET", `/me/uploads/${upload.data.uploadId}`, { sub: BOB })).status).toBe(404);

    const job = await send("POST", "/me/jobs", { sub: ALICE, json: { input: `s3://${UPLOADS}/surveys/site-1.zip`, email: "alice@example.com" } });
    expect(job.status).toBe(202);
    expect(JSON.parse(executions.starts[0]!.input).client).toBe(`user-${ALICE}`);
    expect((await send("GET", `/me/jobs/${job.data.jobId}`, { sub: ALICE })).status).toBe(200);
    expect((await send("GET", `/me/jobs/${job.data.jobId}`, { sub: BOB })).status).toBe(404);
    // Machine clients (API keys) do not see users' jobs either.
    expect((await send("GET", `/jobs/${job.data.jobId}`, { key: KEYS.website })).status).toBe(404);
  });

  it("/me without verified claims is a 401, even with an API key; claims do not replace a key elsewhere", async () => {
    const { send } = api();
    expect(await send("GET", "/me/estimates")).toMatchObject({ status: 401, data: { error: { field: "Authorization" } } });
    expect((await send("GET", "/me/estimates", { key: KEYS.website })).status).toBe(401);
    expect((await send("GET", "/estimates", { sub: ALICE })).status).toBe(401);
    expect((await send("GET", "/estimates", { key: KEYS.website })).status).toBe(200);
    expect((await send("GET", "/me/estimates", { sub: "not a sub!" })).status).toBe(401);
  });
});
