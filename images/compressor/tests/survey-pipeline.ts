// A generated capture taken through the real stages, as the browser tests need it: the sample
// survey -> SfM -> a short training run -> the compressor's delivery (viewer page and model).
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { makeJob, ROOT, runCompressor, type Job } from "./helpers.js";

export const PYTHON = process.env["SPACEPORT_PYTHON"] ?? "python3";

export function run(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, SPACEPORT_PYTHON: PYTHON, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    child.stderr.on("data", (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(" ")} exited ${code}:\n${log}`))));
  });
}

export type SurveyRun = {
  /** base/survey (photos, truth.json), base/sfm, base/train (model/ holds the trained model). */
  base: string;
  model: string;
};

/** Generates a capture with `surveyArgs`, reconstructs it and trains on it with `train` (hyperparameters). */
export async function trainSurvey(base: string, surveyArgs: string[], train: Record<string, string>): Promise<SurveyRun> {
  await run(PYTHON, ["-m", "samples.survey", "--out", join(base, "survey"), "--seed", "0", ...surveyArgs], {});
  const sfm = join(base, "sfm");
  mkdirSync(join(sfm, "processing", "input", "photos"), { recursive: true });
  copyFileSync(join(base, "survey", "survey.zip"), join(sfm, "processing", "input", "photos", "survey.zip"));
  await run("bash", ["images/sfm/entrypoint.sh"], { SPACEPORT_OPT_ML: sfm, SFM_NUM_THREADS: "2" });
  const trainDir = join(base, "train");
  mkdirSync(join(trainDir, "input", "config"), { recursive: true });
  mkdirSync(join(trainDir, "input", "data"), { recursive: true });
  await run("cp", ["-r", join(sfm, "processing", "output", "sfm"), join(trainDir, "input", "data", "sfm")], {});
  writeFileSync(join(trainDir, "input", "config", "hyperparameters.json"), JSON.stringify(train));
  await run("bash", ["images/gaussian-splatting/entrypoint.sh", "train"], { SPACEPORT_OPT_ML: trainDir });
  return { base, model: join(trainDir, "model") };
}

/** The compressor's delivery for a trained model folder (a fast compression: no preview, fidelity or SPZ). */
export async function deliver(model: string, name: string): Promise<Job> {
  const job = makeJob(name);
  await tar.c({ gzip: true, file: join(job.input, "model.tar.gz"), cwd: model }, readdirSync(model));
  const compressed = await runCompressor(job, { COMPRESS_PREVIEW: "0", COMPRESS_FIDELITY: "0", COMPRESS_SPZ: "0", COMPRESS_SH_ITERATIONS: "3" });
  if (compressed.code !== 0) throw new Error(`compressor exited ${compressed.code}: ${compressed.stderr.slice(-2000)}`);
  return job;
}
