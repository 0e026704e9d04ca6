import { describe, expect, it } from "@jest/globals";
import { compile } from "../../pipeline/index.js";
import { compileTargetFor } from "../../pipeline/pulumi/target.js";
import { LINK_DAYS_ENV } from "../../pipeline/stage-contract.js";
import { spaceport } from "../../stages/spaceport.js";
import { PROD_QUOTAS, testTarget } from "./fixtures.js";

const linkDaysByStage = (target: ReturnType<typeof testTarget>) =>
  Object.fromEntries(compile(spaceport, target).stages.map((s) => [s.name, s.request.Environment?.[LINK_DAYS_ENV]]));

describe("how long delivery links work reaches the stage that delivers them", () => {
  it("is the environment's deliveryRetentionDays, in the request of the stage with links only", () => {
    const names = { bucket: "b", notifyFunction: "n", roleArns: testTarget().roleArns, images: testTarget().images };
    const target = compileTargetFor(spaceport, "prod", { region: "us-west-2", quotas: PROD_QUOTAS, instanceOverrides: {}, deliveryRetentionDays: 45 }, names);
    expect(target.linkDays).toBe(45);
    expect(linkDaysByStage(target)).toEqual({ sfm: undefined, "gaussian-splatting": undefined, compressor: "45" });
  });

  it("is left out when the target does not know it", () => {
    expect(linkDaysByStage(testTarget())).toEqual({ sfm: undefined, "gaussian-splatting": undefined, compressor: undefined });
  });
});
