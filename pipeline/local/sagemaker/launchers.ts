/**
 * How a stage's program starts: natively (its entry program, with its interpreter) or as its
 * Docker image (built once per runtime), and how each is stopped.
 */
import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { AcceleratorKind } from "../../instances.js";
import type { Stage } from "../../stage.js";
import { assertDocker, buildArgOverrides, buildCommand, buildNetwork, BUILD_ARGS_ENV, containerLimits, localAccelerator, localImageTag, runCommand } from "./docker.js";
import { ClientError, type JobSpec } from "./job-spec.js";

/** A command to spawn for a job, and how to stop what it started. */
export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  /** Docker runs the job in a container named after it; natively it is a process group. */
  readonly docker: boolean;
  /** Variables only the native program needs (Docker mounts /opt/ml where the contract says). */
  readonly extraEnvironment: Readonly<Record<string, string>>;
}

export interface Launcher {
  /** The command for a job, or a ClientError reason why it cannot start. */
  prepare(spec: JobSpec, environment: Readonly<Record<string, string>>, log: (line: string) => void): Promise<Launch>;
}

const REQUIREMENTS_CHECK = join(import.meta.dirname, "missing-requirements.py");

/** Runs the stage's entry program on this machine, after checking its Python requirements once. */
export class NativeLauncher implements Launcher {
  private readonly checked = new Map<string, string | undefined>();

  constructor(private readonly repoRoot: string, private readonly python = process.env["SPACEPORT_PYTHON"] ?? "python3") {}

  async prepare(spec: JobSpec): Promise<Launch> {
    const { stage } = spec;
    const program = resolve(this.repoRoot, stage.image.entrypoint);
    if (!existsSync(program)) {
      throw new ClientError(`the entry program of stage ${stage.name} does not exist: ${program} (image.entrypoint "${stage.image.entrypoint}")`);
    }
    const missing = this.missingRequirements(stage);
    if (missing) throw new ClientError(missing);
    const [command, args] = interpreterFor(program, spec.args);
    return { command, args, docker: false, extraEnvironment: { SPACEPORT_OPT_ML: spec.optMl } };
  }

  /** Python requirements of a stage's image folder that are not installed: a reason, or undefined. */
  private missingRequirements(stage: Stage): string | undefined {
    const file = join(this.repoRoot, stage.image.directory, "requirements.txt");
    if (!existsSync(file)) return undefined;
    if (this.checked.has(file)) return this.checked.get(file);
    const python = this.python;
    const result = spawnSync(python, [REQUIREMENTS_CHECK, file], { encoding: "utf8" });
    let reason: string | undefined;
    if (result.error || result.status !== 0) {
      reason = `stage ${stage.name} needs Python (${python}), which could not run: ${result.error?.message ?? result.stderr.trim()}. Install the stage's dependencies with: source scripts/env.sh && ensure_python`;
    } else {
      const missing = result.stdout.split("\n").filter(Boolean);
      if (missing.length > 0) {
        reason = `stage ${stage.name} cannot run natively: missing Python packages ${missing.join(", ")} (from ${stage.image.directory}/requirements.txt). Install them with: source scripts/env.sh && ensure_python (or ${python} -m pip install -r ${stage.image.directory}/requirements.txt), or run with --docker`;
      }
    }
    this.checked.set(file, reason);
    return reason;
  }
}

/** How to start an entry program: directly when executable, else through its interpreter. */
function interpreterFor(program: string, args: readonly string[]): [string, string[]] {
  const ext = extname(program);
  if (ext === ".sh") return ["bash", [program, ...args]];
  if (ext === ".js" || ext === ".mjs") return [process.execPath, [program, ...args]];
  if (ext === ".ts") return [process.execPath, ["--import", "tsx", program, ...args]];
  if (ext === ".py") return [process.env["SPACEPORT_PYTHON"] ?? "python3", [program, ...args]];
  try {
    accessSync(program, constants.X_OK);
  } catch {
    throw new ClientError(`entry program ${program} is not executable (chmod +x it, or give it a .sh/.js/.ts/.py name)`);
  }
  return [program, [...args]];
}

/**
 * Runs the stage's image with `docker run` under SageMaker's container contract (docker.ts): no
 * network, the instance type's CPUs and memory, its GPUs where this machine has them. A GPU
 * image is built as its CPU variant on a machine without an NVIDIA GPU.
 */
export class DockerLauncher implements Launcher {
  // tag -> its build, shared by jobs that start while it runs; a failed build is forgotten (retried)
  private readonly images = new Map<string, Promise<string>>();
  private readonly overrides: Record<string, Record<string, string>>;
  private readonly network: "host" | undefined;

  constructor(
    private readonly repoRoot: string,
    private readonly instanceTypeOf: (job: string) => string | undefined,
    stages: readonly string[],
    private readonly nvidiaHere: boolean,
  ) {
    assertDocker();
    this.overrides = buildArgOverrides(process.env[BUILD_ARGS_ENV], stages);
    this.network = buildNetwork();
  }

  async prepare(spec: JobSpec, environment: Readonly<Record<string, string>>, log: (line: string) => void): Promise<Launch> {
    const instanceType = this.instanceTypeOf(spec.name);
    const accelerator = localAccelerator(instanceType, this.nvidiaHere);
    const tag = await this.ensureImage(spec.stage, accelerator, log);
    const limits = containerLimits(instanceType);
    if (limits?.note) log(`container limits: ${limits.cpus} CPUs, ${limits.memoryGiB} GiB (${limits.note})`);
    const args = runCommand({
      name: spec.name, tag, optMl: spec.optMl, env: environment, accelerator, args: spec.args,
      ...(limits ? { limits } : {}), ...(spec.entrypoint ? { entrypoint: spec.entrypoint } : {}),
    });
    return { command: "docker", args, docker: true, extraEnvironment: {} };
  }

  /** Builds the stage's image once per runtime (asynchronously: the runtime keeps serving meanwhile). */
  private ensureImage(stage: Stage, accelerator: AcceleratorKind, log: (line: string) => void): Promise<string> {
    const tag = localImageTag(stage.name, accelerator);
    let build = this.images.get(tag);
    if (!build) {
      const args = buildCommand({ stage, tag, accelerator, repoRoot: this.repoRoot, overrides: this.overrides, ...(this.network ? { network: this.network } : {}) });
      build = this.buildImage(stage, tag, args, log);
      this.images.set(tag, build);
      build.catch(() => this.images.delete(tag));
    }
    return build;
  }

  private async buildImage(stage: Stage, tag: string, args: string[], log: (line: string) => void): Promise<string> {
    log(`building ${tag} from ${stage.image.dockerfile} (docker ${args.join(" ")})`);
    const build = spawn("docker", args, {
      cwd: this.repoRoot,
      env: process.env, // the current environment (PATH included), not the one the process started with
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    const keep = (line: string) => {
      log(line);
      tail.push(line);
      if (tail.length > 3) tail.shift();
    };
    createInterface({ input: build.stdout }).on("line", keep);
    createInterface({ input: build.stderr }).on("line", keep);
    const code = await new Promise<number | null>((done) => {
      build.once("error", (error) => { keep(error.message); done(null); });
      build.once("close", (c) => done(c));
    });
    if (code !== 0) throw new ClientError(`docker build of ${stage.image.dockerfile} failed: ${tail.join(" ")}`);
    return tag;
  }
}
