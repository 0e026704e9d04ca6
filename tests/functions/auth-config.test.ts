import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { authenticate, hashApiKey, newApiKey, parseApiKeys } from "../../functions/auth.js";
import { configFromEnv } from "../../functions/config.js";
import { spaceport } from "../../stages/spaceport.js";
import { ApiError } from "../../functions/errors.js";
import { maskEmail } from "../../functions/log.js";
import { TokenBuckets } from "../../functions/rate-limit.js";

describe("API keys", () => {
  it("a new key authenticates through its hash only, by Bearer or x-api-key", () => {
    const { key, sha256Hex } = newApiKey();
    expect(key).toMatch(/^sp_[A-Za-z0-9_-]{43}$/);
    const keys = parseApiKeys(`website:${"0".repeat(64)}, scripts:${sha256Hex}`);
    expect(authenticate({ authorization: `Bearer ${key}` }, keys)).toBe("scripts");
    expect(authenticate({ authorization: `bearer   ${key}` }, keys)).toBe("scripts");
    expect(authenticate({ "x-api-key": key }, keys)).toBe("scripts");
    expect(() => authenticate({ authorization: `Bearer ${key}x` }, keys)).toThrow(ApiError);
    expect(() => authenticate({}, [])).toThrow(/API key is required/);
    expect(hashApiKey(key).toString("hex")).toBe(sha256Hex);
  });

  it("configuration errors name the entry", () => {
    expect(() => parseApiKeys("website")).toThrow(/not client:sha256hex/);
    expect(() => parseApiKeys("web site:" + "a".repeat(64))).toThrow(/not client:sha256hex|client name/);
    expect(() => parseApiKeys("web:abc")).toThrow(/client "web" must be 64 hex digits/);
    expect(() => parseApiKeys(`a:${"a".repeat(64)},b:${"A".repeat(64)}`)).toThrow(/listed twice/);
    expect(parseApiKeys(JSON.stringify({ web: "b".repeat(64) }))).toEqual([{ client: "web", sha256: Buffer.from("b".repeat(64), "hex") }]);
    expect(parseApiKeys("  ")).toEqual([]);
  });

  it("the CLI prints a key and its config entry", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", "functions/auth.ts", "new", "survey-scripts"], { encoding: "utf8" });
    const key = /key \(give to survey-scripts, shown once\): (\S+)/.exec(out)![1]!;
    const entry = /config entry .*: (\S+)/.exec(out)![1]!;
    expect(authenticate({ authorization: `Bearer ${key}` }, parseApiKeys(entry))).toBe("survey-scripts");
  });
});

describe("configFromEnv", () => {
  const base = {
    SPACEPORT_ENVIRONMENT: "dev",
    SPACEPORT_CONFIG: JSON.stringify({ region: "us-west-2", quotas: [], sesSender: "a@b.co", alarmEmail: "a@b.co", apiKeys: { web: "c".repeat(64) } }),
    SPACEPORT_PROCESSING_BUCKET: "proc-bucket",
  };
  it("reads the environment config and the function settings", () => {
    const config = configFromEnv({ ...base, SPACEPORT_API_KEYS: `ops:${"d".repeat(64)}`, SPACEPORT_API_BASE_URL: "https://api.x/" }, spaceport);
    expect(config.apiKeys.map((k) => k.client)).toEqual(["web", "ops"]);
    expect(config.apiBaseUrl).toBe("https://api.x");
    expect(config.env.apiRateLimit).toEqual({ ratePerSecond: 2, burst: 5, totalRatePerSecond: 50, totalBurst: 100 });
    expect(config.maxBodyBytes).toBe(16 * 1024);
  });
  it("errors name the variable or setting", () => {
    expect(() => configFromEnv({ ...base, SPACEPORT_PROCESSING_BUCKET: "" }, spaceport)).toThrow(/SPACEPORT_PROCESSING_BUCKET: is not set/);
    expect(() => configFromEnv({ ...base, SPACEPORT_CONFIG: "{" }, spaceport)).toThrow(/SPACEPORT_CONFIG: not JSON/);
    expect(() => configFromEnv({ ...base, SPACEPORT_MAX_BODY_BYTES: "-1" }, spaceport)).toThrow(/SPACEPORT_MAX_BODY_BYTES/);
    expect(() => configFromEnv({ ...base, SPACEPORT_CONFIG: JSON.stringify({ region: "us-west-2", quotas: [], sesSender: "nope", alarmEmail: "a@b.co" }) }, spaceport)).toThrow(/spaceport:sesSender/);
  });
});

describe("small parts", () => {
  it("token buckets refill at the configured rate and forget the oldest keys", () => {
    let now = 0;
    const buckets = new TokenBuckets(0.5, 2, () => now, 3);
    expect([buckets.take("a").ok, buckets.take("a").ok, buckets.take("a").ok]).toEqual([true, true, false]);
    expect(buckets.take("a").retryAfterSeconds).toBe(2);
    now = 2000;
    expect(buckets.take("a").ok).toBe(true);
    for (const k of ["b", "c", "d", "e"]) buckets.take(k);
    expect(buckets.take("a").ok).toBe(true); // "a" was evicted: a fresh bucket
  });
  it("masks email addresses", () => {
    expect(maskEmail("jane.doe@example.com")).toBe("j***@e***.com");
    expect(maskEmail("x@localhost")).toBe("x***@l***");
    expect(maskEmail("broken")).toBe("***");
  });
});
