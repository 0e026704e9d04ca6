/**
 * The `--docker` launcher's Docker side: how a stage's image is built on this machine and how
 * its container is started under SageMaker's contract (no network, the instance type's CPUs and
 * memory as limits, its GPUs where this machine has NVIDIA's runtime).
 *
 * Build arguments every stage image may read (images/README.md):
 *   ACCELERATOR   `nvidia` or `none`: what the container gets here (a GPU image builds its CPU
 *                 variant when this machine has no NVIDIA GPU);
 *   BASE_IMAGE    from the Dockerfile's own `ARG CPU_BASE_IMAGE=` for ACCELERATOR=none, else the
 *                 Dockerfile's default; `SPACEPORT_DOCKER_BUILD_ARGS` overrides per stage.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { acceleratorOf, isInstanceType, INSTANCE_TYPES, type AcceleratorKind } from "../../instances.js";
import type { Stage } from "../../stage.js";

/** JSON `{ "<stage>": { "<ARG>": "<value>" } }`: build arguments for this machine (e.g. local base images). */
export const BUILD_ARGS_ENV = "SPACEPORT_DOCKER_BUILD_ARGS";

export function assertDocker(): void {
  const result = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", env: process.env });
  if (result.error || result.status !== 0) {
    throw new Error(
      `--docker needs a running Docker engine, and \`docker version\` failed: ${(result.error?.message ?? result.stderr).trim()}. Install Docker (https://docs.docker.com/engine/install/) or run without --docker to use the stages' native entry programs.`,
    );
  }
}

export function hasNvidia(): boolean {
  return spawnSync("nvidia-smi", ["-L"], { stdio: "ignore", env: process.env }).status === 0;
}

/** What a job on `instanceType` gets here: its NVIDIA GPUs only where this machine has them. */
export function localAccelerator(instanceType: string | undefined, nvidiaHere: boolean): AcceleratorKind {
  if (!instanceType || !isInstanceType(instanceType)) return "none";
  return acceleratorOf(instanceType) === "nvidia" && nvidiaHere ? "nvidia" : "none";
}

/** The default of `ARG <name>=<value>` in a Dockerfile, or undefined. */
export function dockerfileArg(text: string, name: string): string | undefined {
  const match = new RegExp(`^\\s*ARG\\s+${name}=(\\S+)\\s*$`, "m").exec(text);
  return match?.[1]?.replace(/^"(.*)"$/, "$1");
}

/** Per-stage build arguments from SPACEPORT_DOCKER_BUILD_ARGS (validated; names the field). */
export function buildArgOverrides(raw: string | undefined, stages: readonly string[]): Record<string, Record<string, string>> {
  if (!raw?.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${BUILD_ARGS_ENV} is not JSON: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`${BUILD_ARGS_ENV} must be an object of stage name -> { ARG: value }`);
  const out: Record<string, Record<string, string>> = {};
  for (const [stage, args] of Object.entries(parsed)) {
    if (!stages.includes(stage)) throw new Error(`${BUILD_ARGS_ENV}: "${stage}" is not a stage of this pipeline (${stages.join(", ")})`);
    if (!args || typeof args !== "object" || Array.isArray(args) || !Object.values(args).every((v) => typeof v === "string")) {
      throw new Error(`${BUILD_ARGS_ENV}.${stage} must map build argument names to strings`);
    }
    out[stage] = args as Record<string, string>;
  }
  return out;
}

/** The tag a stage's image gets on this machine: one per variant (CUDA or CPU). */
export function localImageTag(stage: string, accelerator: AcceleratorKind): string {
  return `spaceport-local/${stage}:${accelerator === "nvidia" ? "cuda" : "cpu"}`;
}

export interface ImageBuild {
  readonly stage: Stage;
  readonly tag: string;
  readonly accelerator: AcceleratorKind;
  readonly repoRoot: string;
  readonly overrides: Readonly<Record<string, Record<string, string>>>;
  /** `host` where the engine has no bridge network (dockerd --bridge=none). */
  readonly network?: "host";
}

export function buildArgs(build: ImageBuild): Record<string, string> {
  const args: Record<string, string> = { ACCELERATOR: build.accelerator };
  if (build.accelerator === "none") {
    const cpuBase = dockerfileArg(readText(join(build.repoRoot, build.stage.image.dockerfile)), "CPU_BASE_IMAGE");
    if (cpuBase) args["BASE_IMAGE"] = cpuBase;
  }
  return { ...args, ...(build.overrides[build.stage.name] ?? {}) };
}

/** A missing Dockerfile is docker build's to report, with its own message. */
function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** `docker build ...` arguments (run in the repository root). */
export function buildCommand(build: ImageBuild): string[] {
  const image = build.stage.image;
  return [
    "build",
    "--platform", image.platform,
    ...(build.network ? ["--network", build.network] : []),
    ...Object.entries(buildArgs(build)).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]),
    "-f", image.dockerfile,
    "-t", build.tag,
    image.context,
  ];
}

/** Builds need the host network where the engine was started without its bridge. */
export function buildNetwork(): "host" | undefined {
  const bridge = spawnSync("docker", ["network", "inspect", "bridge"], { stdio: "ignore", env: process.env });
  return bridge.status === 0 ? undefined : "host";
}

export interface ContainerLimits {
  readonly cpus: number;
  readonly memoryGiB: number;
  /** Why a limit is lower than the instance type's, for the job log. */
  readonly note?: string;
}

/** The instance type's vCPUs and memory, capped at what this machine has. */
export function containerLimits(instanceType: string | undefined, host = { cpus: availableParallelism(), memoryGiB: totalmem() / 2 ** 30 }): ContainerLimits | undefined {
  if (!instanceType || !isInstanceType(instanceType)) return undefined;
  const spec = INSTANCE_TYPES[instanceType];
  const cpus = Math.min(spec.vcpu, host.cpus);
  const memoryGiB = Math.min(spec.memoryGiB, Math.floor(host.memoryGiB));
  const capped = cpus < spec.vcpu || memoryGiB < spec.memoryGiB;
  return {
    cpus,
    memoryGiB,
    ...(capped ? { note: `${instanceType} has ${spec.vcpu} vCPUs and ${spec.memoryGiB} GiB; this machine gives ${cpus} CPUs and ${memoryGiB} GiB` } : {}),
  };
}

export interface ContainerRun {
  readonly name: string;
  readonly tag: string;
  readonly optMl: string;
  readonly env: Readonly<Record<string, string>>;
  readonly accelerator: AcceleratorKind;
  readonly limits?: ContainerLimits;
  /** ContainerEntrypoint's program: replaces the image's ENTRYPOINT, as SageMaker does. */
  readonly entrypoint?: string;
  /** What follows it: the rest of ContainerEntrypoint and ContainerArguments, or `train`. */
  readonly args: readonly string[];
}

/** `docker run ...` arguments: SageMaker's container contract on one machine. */
export function runCommand(run: ContainerRun): string[] {
  return [
    "run", "--rm", "--name", run.name,
    // SageMaker jobs run without network unless asked; Spaceport's stages never need it.
    "--network", "none",
    ...(run.limits ? ["--cpus", String(run.limits.cpus), "--memory", `${run.limits.memoryGiB}g`, "--memory-swap", `${run.limits.memoryGiB}g`] : []),
    ...(run.accelerator === "nvidia" ? ["--gpus", "all"] : []),
    "-v", `${run.optMl}:/opt/ml`,
    ...Object.entries(run.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    ...(run.entrypoint ? ["--entrypoint", run.entrypoint] : []),
    run.tag,
    ...run.args,
  ];
}
