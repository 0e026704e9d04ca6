/** The --docker launcher's Docker commands: SageMaker's container contract on one machine. */
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildArgOverrides,
  buildCommand,
  containerLimits,
  dockerfileArg,
  localAccelerator,
  runCommand,
} from "../../pipeline/local/sagemaker/docker.js";
import { gaussianSplatting, sfm } from "../../stages/spaceport.js";

const ROOT = join(import.meta.dirname, "..", "..");

describe("--docker launcher", () => {
  it("gives a GPU instance's accelerator to the container only where this machine has NVIDIA's runtime", () => {
    expect(localAccelerator("ml.g4dn.xlarge", true)).toBe("nvidia");
    expect(localAccelerator("ml.g4dn.xlarge", false)).toBe("none");
    expect(localAccelerator("ml.c6i.2xlarge", true)).toBe("none");
    expect(localAccelerator(undefined, true)).toBe("none");
  });

  it("limits the container to the instance type's CPUs and memory, capped at this machine's", () => {
    expect(containerLimits("ml.c6i.2xlarge", { cpus: 16, memoryGiB: 64 })).toEqual({ cpus: 8, memoryGiB: 16 });
    const capped = containerLimits("ml.c6i.4xlarge", { cpus: 2, memoryGiB: 23.4 });
    expect(capped).toMatchObject({ cpus: 2, memoryGiB: 23 });
    expect(capped?.note).toContain("ml.c6i.4xlarge has 16 vCPUs and 32 GiB");
    expect(containerLimits("ml.unknown", { cpus: 2, memoryGiB: 8 })).toBeUndefined();
  });

  it("runs the container without network, with the limits, ContainerEntrypoint replacing the image's", () => {
    const args = runCommand({
      name: "job-sfm-1",
      tag: "spaceport-local/sfm:cpu",
      optMl: "/data/sagemaker/job-sfm-1/opt/ml",
      env: { SPACEPORT_JOB_ID: "job" },
      accelerator: "none",
      limits: { cpus: 2, memoryGiB: 16 },
      entrypoint: "bash",
      args: ["/opt/spaceport/images/sfm/entrypoint.sh", "--flag", "extra"],
    });
    expect(args.join(" ")).toBe(
      "run --rm --name job-sfm-1 --network none --cpus 2 --memory 16g --memory-swap 16g -v /data/sagemaker/job-sfm-1/opt/ml:/opt/ml -e SPACEPORT_JOB_ID=job " +
        "--entrypoint bash spaceport-local/sfm:cpu /opt/spaceport/images/sfm/entrypoint.sh --flag extra",
    );
    const training = runCommand({ name: "t", tag: "gs:cuda", optMl: "/o", env: {}, accelerator: "nvidia", args: ["train"] });
    expect(training.join(" ")).toBe("run --rm --name t --network none --gpus all -v /o:/opt/ml gs:cuda train");
  });

  it("builds a GPU image's CPU variant from the Dockerfile's own CPU base where no GPU is here", () => {
    const gs = buildCommand({ stage: gaussianSplatting, tag: "t", accelerator: "none", repoRoot: ROOT, overrides: {}, network: "host" }).join(" ");
    expect(gs).toMatch(/^build --platform linux\/amd64 --network host --build-arg ACCELERATOR=none --build-arg BASE_IMAGE=debian:bookworm-slim@sha256:[0-9a-f]{64} /);
    const cuda = buildCommand({ stage: gaussianSplatting, tag: "t", accelerator: "nvidia", repoRoot: ROOT, overrides: {} }).join(" ");
    expect(cuda).toBe("build --platform linux/amd64 --build-arg ACCELERATOR=nvidia -f images/gaussian-splatting/Dockerfile -t t .");
    const local = buildCommand({ stage: sfm, tag: "t", accelerator: "none", repoRoot: ROOT, overrides: { sfm: { BASE_IMAGE: "standin/python" } } }).join(" ");
    expect(local).toContain("--build-arg ACCELERATOR=none --build-arg BASE_IMAGE=standin/python -f images/sfm/Dockerfile");
  });

  it("pins every stage Dockerfile's base by digest", () => {
    expect(dockerfileArg("ARG BASE_IMAGE=a/b:1@sha256:00\nFROM ${BASE_IMAGE}\n", "BASE_IMAGE")).toBe("a/b:1@sha256:00");
    expect(dockerfileArg("FROM x\n", "BASE_IMAGE")).toBeUndefined();
    for (const stage of ["sfm", "gaussian-splatting", "compressor"]) {
      const text = readFileSync(join(ROOT, "images", stage, "Dockerfile"), "utf8");
      expect({ stage, base: dockerfileArg(text, "BASE_IMAGE") }).toEqual({ stage, base: expect.stringMatching(/@sha256:[0-9a-f]{64}$/) });
      expect(text).toMatch(/^FROM --platform=linux\/amd64 \$\{BASE_IMAGE\}$/m);
    }
  });

  it("reads per-stage build arguments and names what is wrong", () => {
    expect(buildArgOverrides(undefined, ["sfm"])).toEqual({});
    expect(buildArgOverrides('{"sfm":{"BASE_IMAGE":"x"}}', ["sfm"])).toEqual({ sfm: { BASE_IMAGE: "x" } });
    expect(() => buildArgOverrides("{", ["sfm"])).toThrow(/SPACEPORT_DOCKER_BUILD_ARGS is not JSON/);
    expect(() => buildArgOverrides('{"sfn":{}}', ["sfm"])).toThrow(/"sfn" is not a stage of this pipeline \(sfm\)/);
    expect(() => buildArgOverrides('{"sfm":{"BASE_IMAGE":1}}', ["sfm"])).toThrow(/SPACEPORT_DOCKER_BUILD_ARGS.sfm must map/);
  });
});
