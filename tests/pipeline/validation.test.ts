import { describe, expect, it } from "@jest/globals";
import {
  compile,
  definePipeline,
  days,
  hours,
  image,
  jobInput,
  minutes,
  PipelineValidationError,
  processingStage,
  trainingStage,
  validateForEnvironment,
  type PipelineIssue,
  type Stage,
} from "../../pipeline/index.js";
import { spaceport } from "../../stages/spaceport.js";
import { PROD_QUOTAS, testTarget } from "./fixtures.js";

function issuesOf(fn: () => unknown): PipelineIssue[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof PipelineValidationError) return [...error.issues];
    throw error;
  }
  throw new Error("expected a PipelineValidationError");
}

const source = () =>
  processingStage({
    name: "source",
    image: image("images/sfm"),
    instance: { type: "ml.c6i.2xlarge" },
    timeout: hours(1),
    inputs: { photos: jobInput() },
    outputs: ["data"],
  });

const sink = (inputs: Stage["inputs"], overrides: Partial<Parameters<typeof processingStage>[0]> = {}) =>
  processingStage({
    name: "sink",
    image: image("images/compressor"),
    instance: { type: "ml.c6i.4xlarge" },
    timeout: hours(1),
    inputs,
    outputs: ["delivery"],
    ...overrides,
  });

describe("definePipeline validation names the stage and the field", () => {
  it("accepts the spaceport pipeline and orders its stages", () => {
    expect(spaceport.stages.map((s) => s.name)).toEqual(["sfm", "gaussian-splatting", "compressor"]);
    expect(Object.keys(spaceport.options)).toEqual(["quality"]);
  });

  it("orders stages by their references, not by declaration", () => {
    const a = source();
    const b = sink({ data: a.output("data") });
    const pipeline = definePipeline({ name: "p", stages: [b, a], delivery: b.output("delivery") });
    expect(pipeline.stages.map((s) => s.name)).toEqual(["source", "sink"]);
  });

  it("unknown instance type", () => {
    const bad = processingStage({ ...source(), name: "source", instance: { type: "ml.x99.huge" as never }, outputs: ["data"] });
    const b = sink({ data: bad.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [bad, b], delivery: b.output("delivery") }))).toContainEqual(
      expect.objectContaining({ stage: "source", field: "instance.type", message: expect.stringMatching(/unknown SageMaker instance type "ml.x99.huge"/) }),
    );
  });

  it("instance type not valid for the job kind", () => {
    const a = source();
    const train = trainingStage({
      name: "train",
      image: image("images/gaussian-splatting"),
      instance: { type: "ml.t3.medium" },
      timeout: hours(1),
      inputs: { data: a.output("data") },
    });
    const b = sink({ model: train.output("model") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, train, b], delivery: b.output("delivery") }))).toContainEqual({
      stage: "train",
      field: "instance.type",
      message: "ml.t3.medium is not available for training jobs",
    });
  });

  it("instance count above the environment's quota, and a type with no quota", () => {
    const a = processingStage({ ...source(), name: "source", instance: { type: "ml.c6i.4xlarge", count: 3 }, outputs: ["data"] });
    const b = sink({ data: a.output("data") }, { instance: { type: "ml.m5.xlarge" } });
    const pipeline = definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") });
    const issues = issuesOf(() => validateForEnvironment(pipeline, "prod", { quotas: PROD_QUOTAS, instanceOverrides: {} }));
    expect(issues).toContainEqual({
      stage: "source",
      field: "instance.count",
      message: expect.stringMatching(/^3 × ml\.c6i\.4xlarge is above environment "prod"'s processing quota of 2 \("ml\.c6i\.4xlarge for processing job usage"\); request it/),
    });
    expect(issues).toContainEqual(
      expect.objectContaining({ stage: "sink", field: "instance.type", message: expect.stringMatching(/^ml.m5.xlarge has no processing job quota in environment "prod"/) }),
    );
  });

  it("compile refuses what the environment's quotas do not allow", () => {
    const target = testTarget({ config: { region: "us-west-2", quotas: PROD_QUOTAS.filter((q) => q.jobKind !== "training"), instanceOverrides: {} } });
    expect(() => compile(spaceport, target)).toThrow(/stage "gaussian-splatting", instance.type: ml.g4dn.xlarge has no training job quota/);
  });

  it("an override of a stage that does not exist", () => {
    expect(issuesOf(() => validateForEnvironment(spaceport, "dev", { quotas: PROD_QUOTAS, instanceOverrides: { sfmm: { type: "ml.c6i.xlarge" } } }))).toContainEqual(
      expect.objectContaining({ stage: "sfmm", field: "instanceOverrides" }),
    );
  });

  it("timeout above SageMaker's limit for the job kind", () => {
    const a = processingStage({ ...source(), name: "source", timeout: days(10), outputs: ["data"] });
    const b = sink({ data: a.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }))).toContainEqual({
      stage: "source",
      field: "timeout",
      message: "864000 s is above SageMaker's limit of 777600 s for processing jobs",
    });
  });

  it("missing timeout", () => {
    const a = processingStage({ ...source(), name: "source", timeout: undefined as never, outputs: ["data"] });
    const b = sink({ data: a.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }))).toContainEqual(
      expect.objectContaining({ stage: "source", field: "timeout", message: "every stage needs a timeout above zero" }),
    );
  });

  it("missing image", () => {
    const a = processingStage({ ...source(), name: "source", image: undefined as never, outputs: ["data"] });
    const b = sink({ data: a.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }))).toContainEqual(
      expect.objectContaining({ stage: "source", field: "image" }),
    );
  });

  it("duplicate stage names", () => {
    const a = source();
    const b = sink({ data: a.output("data") }, { name: "source" });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }))).toContainEqual({
      stage: "source",
      field: "name",
      message: "duplicate stage name",
    });
  });

  it("a cycle between stages", () => {
    const loopA = processingStage({ ...source(), name: "a", inputs: { b: { kind: "stage-output", stage: "b", output: "data" } }, outputs: ["data"] });
    const loopB = processingStage({ ...source(), name: "b", inputs: { a: loopA.output("data") }, outputs: ["data"] });
    const issues = issuesOf(() => definePipeline({ name: "p", stages: [loopA, loopB], delivery: loopB.output("data") }));
    expect(issues).toContainEqual({ stage: "a", field: "inputs", message: `part of a reference cycle between stages "a", "b"` });
  });

  it("a reference to a stage that is not in the pipeline (dangling)", () => {
    const a = source();
    const b = sink({ data: a.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [b], delivery: b.output("delivery") }))).toContainEqual({
      stage: "sink",
      field: "inputs.data",
      message: `refers to stage "source", which is not in the pipeline`,
    });
  });

  it("a misspelled output in plain JavaScript (tsc catches it in TypeScript)", () => {
    const a = source();
    expect(() => (a.output as (name: string) => unknown)("dta")).toThrow(`stage "source" has no output "dta" (outputs: data)`);
  });

  it("a stage without inputs (missing input)", () => {
    const a = processingStage({ ...source(), name: "source", inputs: {}, outputs: ["data"] });
    const b = sink({ data: a.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }))).toContainEqual(
      expect.objectContaining({ stage: "source", field: "inputs", message: expect.stringMatching(/at least one input/) }),
    );
  });

  it("a stage whose outputs nobody uses (unused)", () => {
    const a = source();
    const orphan = processingStage({ ...source(), name: "orphan", outputs: ["extra"] });
    const b = sink({ data: a.output("data") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, orphan, b], delivery: b.output("delivery") }))).toContainEqual(
      expect.objectContaining({ stage: "orphan", field: "outputs", message: expect.stringMatching(/no stage reads this stage's outputs/) }),
    );
  });

  it("spot on a processing stage, and spot maxWait below the timeout", () => {
    expect(() => processingStage({ ...source(), name: "source", outputs: ["data"], spot: { maxWait: hours(2) } as never })).toThrow(
      /stage "source": spot: managed spot exists for training jobs only/,
    );
    const a = source();
    const train = trainingStage({
      name: "train",
      image: image("images/gaussian-splatting"),
      instance: { type: "ml.g4dn.xlarge" },
      timeout: hours(6),
      spot: { maxWait: hours(1) },
      inputs: { data: a.output("data") },
    });
    const b = sink({ model: train.output("model") });
    expect(issuesOf(() => definePipeline({ name: "p", stages: [a, train, b], delivery: b.output("delivery") }))).toContainEqual(
      expect.objectContaining({ stage: "train", field: "spot.maxWait", message: expect.stringMatching(/at least the timeout/) }),
    );
  });

  it("invalid stage names and volume sizes", () => {
    const a = processingStage({ ...source(), name: "Bad_Name", instance: { type: "ml.c6i.2xlarge", volumeSizeGb: 0 }, outputs: ["data"] });
    const b = sink({ data: a.output("data") });
    const issues = issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }));
    expect(issues).toContainEqual(expect.objectContaining({ stage: "Bad_Name", field: "name" }));
    expect(issues).toContainEqual(expect.objectContaining({ stage: "Bad_Name", field: "instance.volumeSizeGb" }));
  });

  it("reports every problem at once, in one message", () => {
    const a = processingStage({ ...source(), name: "source", timeout: minutes(0), instance: { type: "ml.c6i.2xlarge", count: 0 }, outputs: ["data"] });
    const b = sink({ data: a.output("data") });
    expect(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") })).toThrow(
      /stage "source", instance.count: [^\n]+\n\s+- stage "source", timeout: /,
    );
  });

  it("links: only the delivering stage has them, each a relative file path of its output", () => {
    const a = processingStage({ ...source(), links: { report: "report.json" }, outputs: ["data"] });
    const b = sink({ data: a.output("data") }, { links: { viewer: "index.html", escape: "../secrets.txt" } });
    const issues = issuesOf(() => definePipeline({ name: "p", stages: [a, b], delivery: b.output("delivery") }));
    expect(issues).toContainEqual(expect.objectContaining({ stage: "source", field: "links" }));
    expect(issues).toContainEqual(expect.objectContaining({ stage: "sink", field: "links.escape" }));
    expect(issues.filter((i) => i.field === "links.viewer")).toEqual([]);
  });
});

describe("what stages declare for the layers above them", () => {
  it("the delivery's links, labels and failure advice come from the stages", async () => {
    const { deliveryLinks } = await import("../../pipeline/index.js");
    expect(deliveryLinks(spaceport)).toEqual({ viewer: "index.html", scene: "scene.sog", preview: "preview.webp", thumbnail: "thumbnail.jpg", report: "report.json" });
    const { failureAdvice, stageLabel } = await import("../../functions/failure.js");
    expect(stageLabel(spaceport, "gaussian-splatting")).toBe("3D model training (Gaussian splatting)");
    expect(stageLabel(spaceport, "unknown")).toBe("unknown");
    expect(failureAdvice(spaceport, "sfm", "States.TaskFailed", "too few photos")).toMatch(/Check the ZIP/);
    // A stage that declares no advice gets the generic one.
    expect(failureAdvice(spaceport, "compressor", "States.TaskFailed", "bad model")).toMatch(/reply to this email with the job id/);
  });

  it("a training stage's metric definitions follow the progress metric every stage has", async () => {
    const { trainingRequest } = await import("../../pipeline/index.js");
    const { testTarget } = await import("./fixtures.js");
    const stage = spaceport.stages.find((s) => s.kind === "training")!;
    const request = trainingRequest(spaceport, stage as Extract<typeof stage, { kind: "training" }>, testTarget());
    expect(request.AlgorithmSpecification?.MetricDefinitions?.map((m) => m.Name)).toEqual(["progress", "train:loss", "train:psnr", "held_out:psnr"]);
  });
});
