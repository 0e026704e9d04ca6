/**
 * The local server's edge against hostile requests: oversized bodies answer 413 on a live
 * connection, unexpected errors answer a bare 500 (logged with a request id), `/files` serves
 * deliveries only, an upload cut off halfway leaves nothing behind, and concurrent identical
 * submissions hand the first stage exactly one input.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { LOD_BUNDLE_EXAMPLES } from "../../images/compressor/src/delivery-files.js";
import type { LogFields } from "../../functions/log.js";
import { answerInternalError } from "../../pipeline/local/http-edge.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices, type LocalServices } from "../../pipeline/local/services.js";
import { tempDir, testConfig, testPipeline, until, writeZip } from "./fixtures.js";

describe("local server edge", () => {
  let services: LocalServices;
  let dir: string;
  const logged: { event: string; fields: LogFields }[] = [];
  const auth = () => ({ authorization: `Bearer ${services.apiKey}` });

  beforeAll(async () => {
    dir = tempDir("edge");
    services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(),
      pipeline: testPipeline(dir),
      port: 0,
      env: { SPACEPORT_SMTP_URL: "" },
      retry: { quotaMs: 50, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 0,
      log: (_level, event, fields = {}) => logged.push({ event, fields }),
    });
  });
  afterAll(async () => {
    await services?.close();
  });

  const post = (body: string | Uint8Array<ArrayBuffer>) =>
    fetch(`${services.baseUrl}/jobs`, { method: "POST", headers: { ...auth(), "content-type": "application/json" }, body });

  it("answers 413 naming the body for bodies just over the limit and far over it, on a live connection", async () => {
    for (const size of [16_386, 20 * 1024 * 1024]) {
      const response = await post(new Uint8Array(size).fill(0x20));
      expect(response.status).toBe(413);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe("body");
    }
    expect((await post("{")).status).toBe(400); // the server still answers
  });

  it("answers a JSON body nested 5,000 deep as too deep, not as a stack overflow", async () => {
    const response = await post("[".repeat(5000) + "]".repeat(5000));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe("the body is nested deeper than 16 levels");
  });

  it("answers an unexpected error with a bare 500 and logs it with the request id", async () => {
    const lines: LogFields[] = [];
    const server = createServer((req, res) => answerInternalError(res, (_l, _e, fields = {}) => lines.push(fields), new Error("EACCES /secret/path"), { path: req.url ?? "" }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
      const text = await response.text();
      expect(response.status).toBe(500);
      expect(text).not.toContain("secret");
      const requestId = response.headers.get("x-request-id");
      expect(text).toContain(`request ${requestId}`);
      expect(lines).toEqual([expect.objectContaining({ requestId, message: "EACCES /secret/path" })]);
    } finally {
      server.close();
    }
  });

  it("serves job deliveries under /files and nothing else: not inputs, uploads or idempotency records", async () => {
    const input = services.upload(writeZip(join(dir, "files.zip")));
    const response = await post(JSON.stringify({ input, email: "files@example.com" }));
    const { jobId } = (await response.json()) as { jobId: string };
    expect((await services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
    const base = `${services.baseUrl}/files/${services.buckets.processing}`;
    expect((await fetch(`${base}/jobs/${jobId}/delivery/index.html`)).status).toBe(200);
    // a large scene's streamed bundle lives in folders under the delivery: served, and typed
    const delivery = join(dir, "data", "buckets", services.buckets.processing, "jobs", jobId, "delivery");
    for (const f of LOD_BUNDLE_EXAMPLES) {
      mkdirSync(dirname(join(delivery, f)), { recursive: true });
      writeFileSync(join(delivery, f), "{}");
    }
    for (const f of LOD_BUNDLE_EXAMPLES) {
      const r = await fetch(`${base}/jobs/${jobId}/delivery/${f}`);
      expect([f, r.status, r.headers.get("content-type")]).toEqual([f, 200, f.endsWith(".json") ? "application/json" : "image/webp"]);
    }
    const records = readdirSync(join(dir, "data", "buckets", services.buckets.processing, "idempotency"));
    expect(records.length).toBeGreaterThan(0);
    const hidden = [
      `${base}/jobs/${jobId}/input/photos.zip`,
      `${base}/jobs/${jobId}/prepared/listing.txt`,
      `${base}/idempotency/${records[0]}`,
      `${services.baseUrl}/files/${services.buckets.uploads}/${input.split("/").slice(3).join("/")}`,
      `${base}/jobs/${jobId}/delivery/..%2finput%2fphotos.zip`,
      `${base}/jobs/${jobId}/delivery/%E0%A4%A`,
    ];
    for (const url of hidden) expect([url, (await fetch(url)).status]).toEqual([url, 404]);
  }, 60_000);

  it("keeps nothing of an upload that is cut off, and names the path for a bad %-escape", async () => {
    const bucketDir = join(dir, "data", "buckets", services.buckets.uploads);
    const before = readdirSync(join(bucketDir, "local"));
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${services.baseUrl}/uploads/cut.zip`, { method: "PUT", headers: { ...auth(), "content-length": String(1024 * 1024) } });
      req.on("error", () => resolve());
      req.write(Buffer.alloc(100 * 1024, 1), () => setTimeout(() => req.destroy(), 200));
      req.on("close", () => resolve());
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(readdirSync(join(bucketDir, "local"))).toEqual(before);
    expect(readdirSync(join(dir, "data", "buckets", ".incoming"))).toEqual([]);

    const bad = await fetch(`${services.baseUrl}/uploads/%E0%A4%A.zip`, { method: "PUT", headers: auth(), body: "x" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("path");
  });

  it("five identical submissions at once make one job whose first stage gets exactly one input", async () => {
    const input = services.upload(writeZip(join(dir, "twice.zip")));
    const body = JSON.stringify({ input, email: "twice@example.com", options: { quality: "preview" } });
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(body)));
    const ids = new Set(await Promise.all(answers.map(async (a) => ((await a.json()) as { jobId: string }).jobId)));
    expect(ids.size).toBe(1);
    const jobId = [...ids][0]!;
    expect((await services.runtime.executions.wait(jobId))?.status).toBe("SUCCEEDED");
    const jobDir = join(dir, "data", "buckets", services.buckets.processing, "jobs", jobId);
    expect(readdirSync(join(jobDir, "input"))).toEqual(["photos.zip"]);
    expect(readFileSync(join(jobDir, "prepared", "listing.txt"), "utf8").trim()).toBe("photos.zip");
    await until("no temporary file left", () => readdirSync(join(dir, "data", "buckets", ".incoming")).length === 0);
  }, 60_000);
});
