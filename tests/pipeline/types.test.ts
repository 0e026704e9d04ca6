/**
 * Type-level rules: these lines must NOT compile. `npm test` runs `tsc --noEmit` over this
 * file, and an unused `@ts-expect-error` is itself an error, so each rule is really checked.
 */
import { describe, expect, it } from "@jest/globals";
import { hours, image, jobInput, processingStage, trainingStage } from "../../pipeline/index.js";
import { gaussianSplatting, sfm } from "../../stages/spaceport.js";

describe("typed references", () => {
  it("reject misspelled outputs and misplaced settings at compile time", () => {
    // @ts-expect-error "sfn" is not an output of the sfm stage (its only output is "sfm").
    expect(() => sfm.output("sfn")).toThrow(/has no output "sfn"/);
    // @ts-expect-error a training stage's only output is "model".
    expect(() => gaussianSplatting.output("models")).toThrow(/has no output "models"/);

    expect(() =>
      processingStage({
        name: "p",
        image: image("images/sfm"),
        instance: { type: "ml.c6i.2xlarge" },
        timeout: hours(1),
        inputs: { photos: jobInput() },
        outputs: ["x"],
        // @ts-expect-error managed spot is for training stages only.
        spot: { maxWait: hours(2) },
      }),
    ).toThrow(/spot/);

    expect(() =>
      trainingStage({
        name: "t",
        image: image("images/gaussian-splatting"),
        // @ts-expect-error not a SageMaker instance type the DSL knows.
        instance: { type: "ml.g4dn.xlarg" },
        timeout: hours(1),
        inputs: { sfm: sfm.output("sfm") },
      }),
    ).not.toThrow(); // definePipeline reports it with the stage name (validation tests)
  });
});
