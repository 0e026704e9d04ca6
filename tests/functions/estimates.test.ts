import { describe, expect, it } from "@jest/globals";
import { estimates } from "../../functions/estimates/handler.js";
import { byOption, estimateCost, expectedDuration, jobOption, longestExpectedDuration, minutes } from "../../pipeline/index.js";
import { testConfig } from "./helpers.js";

describe("GET /estimates", () => {
  it("gives the total for each quality, from the cost model, and the defaults' total as the estimate", () => {
    const config = testConfig();
    const body = estimates(config).body as {
      estimate: { seconds: number; usd: number };
      byOption: Record<string, Record<string, { seconds: number; usd: number }>>;
      options: Record<string, { default: string }>;
    };
    const q = body.byOption["quality"]!;
    expect(Object.keys(q)).toEqual(["preview", "standard", "high"]);
    expect(q["preview"]!.seconds).toBeLessThan(q["standard"]!.seconds);
    expect(q["standard"]!.seconds).toBeLessThan(q["high"]!.seconds);
    expect(q["preview"]!.usd).toBeLessThan(q["high"]!.usd);
    expect(q[body.options["quality"]!.default]).toEqual({ seconds: body.estimate.seconds, usd: body.estimate.usd });
    const high = estimateCost(config.pipeline, config.env, { choices: { quality: "high" } });
    expect(q["high"]!.seconds).toBe(high.totalSeconds);
  });
});

describe("byOption expected durations", () => {
  const quality = jobOption({ name: "quality", values: ["fast", "slow"], default: "fast", description: "" });
  const stage = { timeout: minutes(60), expectedDuration: byOption(quality, { fast: minutes(5), slow: minutes(40) }) };

  it("pick the job's value, the default when the job gives none or an unknown one; capacity plans for the longest", () => {
    expect(expectedDuration(stage, { quality: "slow" }).seconds).toBe(2400);
    expect(expectedDuration(stage).seconds).toBe(300);
    expect(expectedDuration(stage, { quality: "bogus" }).seconds).toBe(300);
    expect(longestExpectedDuration(stage).seconds).toBe(2400);
    expect(expectedDuration({ timeout: minutes(60) }).seconds).toBe(3600);
  });

  it("name a missing or unknown value", () => {
    expect(() => byOption(quality, { fast: minutes(5) } as never)).toThrow(/expectedDuration by "quality": no duration for "slow"/);
    expect(() => byOption(quality, { fast: minutes(5), slow: minutes(9), medium: minutes(7) } as never)).toThrow(/"medium" is not one of fast, slow/);
  });
});
