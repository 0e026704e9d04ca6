import { describe, expect, it } from "@jest/globals";
import { compile } from "../../pipeline/index.js";
import { acceleratorOf } from "../../pipeline/instances.js";
import { spaceport } from "../../stages/spaceport.js";
import { PROD_QUOTAS, testTarget } from "./fixtures.js";

describe("the instance's accelerator reaches the stage", () => {
  it("comes from the instance table: NVIDIA for GPU types, none otherwise", () => {
    expect(acceleratorOf("ml.g4dn.xlarge")).toBe("nvidia");
    expect(acceleratorOf("ml.p3.2xlarge")).toBe("nvidia");
    expect(acceleratorOf("ml.c6i.4xlarge")).toBe("none");
  });

  it("is in every compiled request's Environment, after the environment's instance overrides", () => {
    const env = (target = testTarget()) =>
      Object.fromEntries(compile(spaceport, target).stages.map((s) => [s.name, s.request.Environment?.["SPACEPORT_ACCELERATOR"]]));
    expect(env()).toEqual({ sfm: "none", "gaussian-splatting": "nvidia", compressor: "none" });
    const cpuTraining = testTarget({
      config: {
        region: "us-west-2",
        quotas: [...PROD_QUOTAS, { instanceType: "ml.c6i.4xlarge", jobKind: "training", count: 1 }],
        instanceOverrides: { "gaussian-splatting": { type: "ml.c6i.4xlarge" } },
      },
    });
    expect(env(cpuTraining)["gaussian-splatting"]).toBe("none");
  });
});
