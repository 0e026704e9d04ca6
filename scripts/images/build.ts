/**
 * Builds every stage's image as `spaceport run --docker` would on this machine (the same
 * `docker build` arguments, so the job's own build is a layer-cache hit), and prints each
 * image's build time and size. SPACEPORT_DOCKER_BUILD_ARGS carries local base images.
 *   node --import tsx scripts/images/build.ts [--env prod]
 */
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { effectiveInstance } from "../../pipeline/define.js";
import { buildArgOverrides, buildCommand, buildNetwork, BUILD_ARGS_ENV, hasNvidia, localAccelerator, localImageTag } from "../../pipeline/local/sagemaker/docker.js";
import { readEnvironment } from "../../pipeline/local/target.js";
import { spaceport } from "../../stages/spaceport.js";

const ROOT = resolve(import.meta.dirname, "../..");

function run(args: string[]): Promise<number | null> {
  return new Promise((done) => {
    const child = spawn("docker", args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", () => done(null));
    child.once("close", (code) => done(code));
  });
}

function sizeOf(tag: string): number {
  const out = spawnSync("docker", ["image", "inspect", "--format", "{{.Size}}", tag], { encoding: "utf8" });
  return Number(out.stdout.trim());
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { env: { type: "string", default: "prod" } } });
  const config = readEnvironment(ROOT, values.env!);
  const overrides = buildArgOverrides(process.env[BUILD_ARGS_ENV], spaceport.stages.map((s) => s.name));
  const network = buildNetwork();
  const nvidia = hasNvidia();
  const rows: string[] = [];
  for (const stage of spaceport.stages) {
    const accelerator = localAccelerator(effectiveInstance(stage, config).type, nvidia);
    const tag = localImageTag(stage.name, accelerator);
    const args = buildCommand({ stage, tag, accelerator, repoRoot: ROOT, overrides, ...(network ? { network } : {}) });
    console.log(`\n== docker ${args.join(" ")}`);
    const started = Date.now();
    const code = await run(args);
    const seconds = (Date.now() - started) / 1000;
    if (code !== 0) {
      console.error(`image build of stage ${stage.name} failed (exit code ${code}) after ${seconds.toFixed(0)} s`);
      return 1;
    }
    rows.push(`${stage.name.padEnd(20)} ${tag.padEnd(42)} ${(sizeOf(tag) / 1e9).toFixed(2).padStart(6)} GB ${seconds.toFixed(0).padStart(6)} s`);
  }
  console.log(`\nimages (ACCELERATOR=${nvidia ? "as the instance types say" : "none: no NVIDIA GPU here"})`);
  console.log(`${"stage".padEnd(20)} ${"tag".padEnd(42)} ${"size".padStart(9)} ${"build".padStart(8)}`);
  for (const row of rows) console.log(row);
  return 0;
}

process.exitCode = await main();
