/**
 * The Lambda bundles load and answer the way Lambda runs them: a fresh Node process imports
 * `index.mjs` (ESM, with CommonJS dependencies through createRequire) and calls `handler`,
 * with the environment variables the stack sets. Only paths that need no AWS call are used.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleHandler } from "../../pipeline/pulumi/bundle.js";
import { readStackConfigFile } from "../../pipeline/environment.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const config = readStackConfigFile(join(ROOT, "Pulumi.dev.yaml"), "dev");
const env = {
  PATH: process.env["PATH"] ?? "",
  AWS_REGION: "us-west-2",
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "example",
  SPACEPORT_ENVIRONMENT: "dev",
  SPACEPORT_CONFIG: JSON.stringify(config),
  SPACEPORT_API_KEYS: JSON.stringify({ website: "a".repeat(64) }),
  SPACEPORT_PROCESSING_BUCKET: "spaceport-processing-test",
  SPACEPORT_UPLOADS_BUCKET: "spaceport-uploads-test",
  SPACEPORT_STATE_MACHINE_ARN: "arn:aws:states:us-west-2:123456789012:stateMachine:spaceport-ml-dev",
  SPACEPORT_DELIVERY_BASE_URL: "https://d1234.cloudfront.net",
  SPACEPORT_INTERMEDIATE_FOLDERS: "sfm,model,checkpoints",
};

/** Bundles `entry`, then in a new Node process: `(await import(index.mjs)).handler(event)` → JSON. */
function invoke(entry: string, event: unknown): { ok: boolean; value: unknown } {
  const dir = mkdtempSync(join(tmpdir(), "spaceport-bundle-"));
  writeFileSync(join(dir, "index.mjs"), bundleHandler(ROOT, entry).code);
  const script = `
    const { handler } = await import(${JSON.stringify(join(dir, "index.mjs"))});
    try { console.log(JSON.stringify({ ok: true, value: await handler(${JSON.stringify(event)}) })); }
    catch (e) { console.log(JSON.stringify({ ok: false, value: String(e && e.message) })); }`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { env, cwd: dir, encoding: "utf8", timeout: 30_000 });
  return JSON.parse(out.trim().split("\n").pop()!) as { ok: boolean; value: unknown };
}

const apiEvent = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => ({
  version: "2.0",
  rawPath: path,
  headers,
  ...(body !== undefined ? { body, isBase64Encoded: false } : {}),
  requestContext: { http: { method, path, sourceIp: "203.0.113.9" }, requestId: "r-1" },
});

test("start-job bundle: no API key, no job (401 before any AWS call)", () => {
  const result = invoke("stages/lambda/start-job.ts", apiEvent("POST", "/jobs", { "content-type": "application/json" }, "{}"));
  expect(result.ok).toBe(true);
  expect((result.value as { statusCode: number }).statusCode).toBe(401);
}, 60_000);

test("job-status bundle: a malformed job id is a 400 (or 401 without a key), never a crash", () => {
  const result = invoke("stages/lambda/job-status.ts", apiEvent("GET", "/jobs/not-a-job", { authorization: "Bearer x" }));
  expect(result.ok).toBe(true);
  expect([400, 401]).toContain((result.value as { statusCode: number }).statusCode);
}, 60_000);

test("notify bundle: an invalid payload is rejected with the field named", () => {
  const result = invoke("stages/lambda/notify.ts", { jobId: "nope" });
  expect(result.ok).toBe(false);
  expect(String(result.value)).toMatch(/invalid notify payload/);
}, 60_000);

test("retention-tagger bundle: inputs and deliveries are never tagged", () => {
  const record = (key: string) => ({ s3: { bucket: { name: "b" }, object: { key } } });
  const result = invoke("pipeline/pulumi/handlers/retention-tagger.ts", {
    Records: [record("jobs/20261126-093012-1a2b3c4d/input/photos.zip"), record("jobs/20261126-093012-1a2b3c4d/delivery/scene.sog")],
  });
  expect(result).toEqual({ ok: true, value: { tagged: 0, skipped: 2 } });
}, 60_000);
