/** Property tests: random and hostile URLs and bodies never give a 5xx, and never start a job they should not. */
import { describe, expect, it } from "@jest/globals";
import fc from "fast-check";
import { ApiError } from "../../functions/errors.js";
import { parseInputLocation } from "../../functions/start-job/input-location.js";
import { harness, UPLOADS, validBody } from "./helpers.js";

const hostileSegment = fc.oneof(
  fc.constantFrom("..", ".", "%2e%2e", "%2E%2E", "..%2f", "%00", "%ff", "%", "%%", "\\..\\", "", "~", "$(rm -rf)", "'\"<>", "\u202e", "𝔘𝔫𝔦", "é", "\u0000", "\r\n", "?", "#", "//", "%C0%AE%C0%AE"),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
);
const hostileKey = fc.array(hostileSegment, { minLength: 1, maxLength: 6 }).map((parts) => parts.join("/"));
const bucketish = fc.oneof(fc.constantFrom(UPLOADS, "partner-surveys", "evil", "a", "UPPER", "x".repeat(70), "127.0.0.1", "b..c"), fc.string({ maxLength: 20 }));
const hostileUrl = fc.oneof(
  fc.tuple(bucketish, hostileKey, fc.constantFrom("", ".zip", ".ZIP", ".zip/..", ".zip%00")).map(([b, k, ext]) => `s3://${b}/${k}${ext}`),
  fc.tuple(bucketish, hostileKey, fc.constantFrom("", "us-west-2", "not a region", "..")).map(([b, k, r]) => `https://${b}.s3${r ? "." + r : ""}.amazonaws.com/${k}.zip`),
  fc.tuple(bucketish, hostileKey).map(([b, k]) => `https://s3.amazonaws.com/${b}/${k}.zip`),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 300 }),
);

const pollutionKeys = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"];
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "grapheme", maxLength: 30 }),
    fc.double(),
    fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 0, -0, 1.5e300),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...pollutionKeys)), tie("value"), { maxKeys: 4 }),
  ),
})).value;

const body = fc.oneof(
  jsonValue,
  fc.record({ input: fc.oneof(hostileUrl, jsonValue), email: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 60 }), jsonValue) }, { requiredKeys: [] }),
  fc.record({ input: hostileUrl, email: fc.emailAddress(), options: fc.oneof(jsonValue, fc.dictionary(fc.constantFrom("quality", ...pollutionKeys), fc.oneof(fc.constantFrom("preview", "standard", "high", "ultra"), jsonValue))) }),
);

describe("properties", () => {
  it("parseInputLocation returns a safe location or a 400, never anything else", () => {
    fc.assert(
      fc.property(hostileUrl, (text) => {
        try {
          const location = parseInputLocation(text);
          expect(location.key.split("/")).not.toContain("..");
          expect(location.key).not.toMatch(/[\x00-\x1f]/);
          expect(location.key.toLowerCase().endsWith(".zip")).toBe(true);
          expect(location.bucket).toMatch(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/);
        } catch (error) {
          expect(error).toBeInstanceOf(ApiError);
          expect((error as ApiError).status).toBe(400);
          expect((error as ApiError).field).toBe("input");
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("random and hostile JSON bodies never give a 5xx", async () => {
    const h = harness();
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom("/jobs", "/start-job"), fc.option(fc.string({ maxLength: 40 })), async (json, path, idem) => {
        const headers = idem === null ? {} : { "idempotency-key": idem };
        const res = await h.call({ path, json, headers });
        expect(res.status).toBeLessThan(500);
        expect(res.headers["content-type"]).toMatch(/^application\/json/);
        if (res.status >= 400) expect(typeof res.data.error.field).toBe("string");
        expect(Object.prototype).not.toHaveProperty("admin");
      }),
      { numRuns: 400 },
    );
  });

  it("random raw bodies, content types, methods and paths never give a 5xx", async () => {
    const h = harness();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 200 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1"))),
        fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin1"),
        fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "get", "FOO"),
        fc.oneof(fc.constantFrom("/jobs", "/start-job", "/jobs/", "/jobs/20261126-093012-1a2b3c4d", "//jobs", "/jobs/%2e%2e", "/jobs/%zz"), fc.string({ maxLength: 60 }).map((s) => `/jobs/${s}`), fc.webPath()),
        async (raw, contentType, method, path) => {
          const res = await h.call({ method, path, body: raw, headers: { "content-type": contentType } });
          expect(res.status).toBeLessThan(500);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("a valid body with random hostile keys in allowed buckets never escapes the job prefix", async () => {
    const h = harness();
    await fc.assert(
      fc.asyncProperty(hostileKey, async (key) => {
        h.store.add(UPLOADS, `${key}.zip`, 10);
        const before = h.executions.starts.length;
        const res = await h.call({ json: { ...validBody, input: `s3://${UPLOADS}/${key}.zip` } });
        expect(res.status).toBeLessThan(500);
        if (res.status < 300) {
          const input = JSON.parse(h.executions.starts.at(-1)!.input) as { inputUri: string };
          expect(input.inputUri).toMatch(/^s3:\/\/spaceport-prod-processing\/jobs\/\d{8}-\d{6}-[0-9a-f]{8}\/input\/photos\.zip$/);
        } else {
          expect(h.executions.starts.length).toBe(before);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("random Authorization headers never authenticate and never give a 5xx", async () => {
    const h = harness({}, { apiRateLimit: { ratePerSecond: 1000, burst: 100000, jobsPerDay: 50 } });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 80 }).map((s) => `Bearer ${s}`)), async (authorization) => {
        const res = await h.call({ json: validBody, headers: { authorization } });
        expect(res.status).toBe(401);
      }),
      { numRuns: 300 },
    );
  });
});
