import { describe, expect, it } from "@jest/globals";
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { estimateCost, formatUsd, hours, minutes, readStackConfigFile } from "../../pipeline/index.js";
import { describe as describePipeline } from "../../stages/describe.js";
import { spaceport } from "../../stages/spaceport.js";

const root = resolve(import.meta.dirname, "../..");

describe("cost model", () => {
  it("reproduces the seed's table with the seed's durations, on demand", () => {
    const estimate = estimateCost(
      spaceport,
      { instanceOverrides: {} },
      { durations: { sfm: minutes(30), "gaussian-splatting": hours(2), compressor: minutes(15) }, spot: false },
    );
    expect(estimate.stages.map((s) => [s.stage, formatUsd(s.costUsd)])).toEqual([
      ["sfm", "$0.17"],
      ["gaussian-splatting", "$1.47"],
      ["compressor", "$0.17"],
      // standard (the default) writes an early model: the compressor's preview run is extra cost
      ["compressor (preview)", "$0.17"],
    ]);
    expect(formatUsd(estimate.totalUsd)).toBe("$1.98");
    // ... but no extra time: it runs beside training
    expect(estimate.totalSeconds).toBe(30 * 60 + 2 * 3600 + 15 * 60);
  });

  it("counts the preview run only for the options whose jobs write the early model, or as a finished job says", () => {
    const at = (quality: string, preview?: boolean) =>
      estimateCost(spaceport, { instanceOverrides: {} }, { choices: { quality }, ...(preview !== undefined ? { preview } : {}) }).stages.filter((s) => s.preview).map((s) => s.stage);
    expect(at("standard")).toEqual(["compressor (preview)"]);
    expect(at("high")).toEqual(["compressor (preview)"]);
    expect(at("preview")).toEqual([]);
    expect(at("standard", false)).toEqual([]);
  });

  it("discounts spot training and follows an environment's instance overrides", () => {
    const onDemand = estimateCost(spaceport, { instanceOverrides: {} }, { spot: false });
    const spot = estimateCost(spaceport, { instanceOverrides: {} });
    expect(spot.stages[1]!.costUsd).toBeCloseTo(onDemand.stages[1]!.costUsd * 0.4, 6);
    const dev = estimateCost(spaceport, { instanceOverrides: { sfm: { type: "ml.c6i.xlarge" } } });
    expect(dev.stages[0]!.instanceType).toBe("ml.c6i.xlarge");
    expect(dev.stages[0]!.costUsd).toBeLessThan(spot.stages[0]!.costUsd);
  });
});

describe("describe", () => {
  it("prints stages, quota use, cost and the ASL for prod", () => {
    const config = readStackConfigFile(resolve(root, "Pulumi.prod.yaml"), "prod");
    const text = describePipeline(spaceport, "prod", config, true);
    expect(text).toMatch(/sfm\s+processing\s+1 × ml\.c6i\.2xlarge\s+1\/1 \(processing\)\s+2 h/);
    expect(text).toMatch(/gaussian-splatting\s+training\s+1 × ml\.g4dn\.xlarge\s+1\/1 \(training\)\s+6 h/);
    expect(text).toMatch(/compressor\s+processing\s+1 × ml\.c6i\.4xlarge\s+1\/2/);
    expect(text).toMatch(/Estimated cost per job: \$\d+\.\d\d/);
    expect(text).toContain('"StartAt": "Start job"');
  });

  it("npm run describe -- --env prod works from the command line; a bad env names the problem", () => {
    const out = execFileSync("node", ["--import", "tsx", "stages/describe.ts", "--env", "prod", "--no-asl"], { cwd: root, encoding: "utf8" });
    expect(out).toMatch(/^total\s+1 h 15 min\s+\$\d+\.\d\d$/m);
    let message = "";
    try {
      execFileSync("node", ["--import", "tsx", "stages/describe.ts", "--env", "nope"], { cwd: root, encoding: "utf8", stdio: "pipe" });
    } catch (error) {
      message = String((error as { stderr: string }).stderr);
    }
    expect(message).toMatch(/Pulumi\.nope\.yaml/);
  });
});
