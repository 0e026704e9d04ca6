/** The ZIP `spaceport run` submits: the given ZIP, a ZIP of the given folder, or the generated sample survey. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import type { DataDir } from "../data.js";
import { REPO_ROOT } from "../runtime.js";
import { photosIn, zipFiles } from "../zip.js";
import { UsageError } from "./help.js";

export async function inputZip(argument: string | undefined, data: DataDir): Promise<string> {
  if (argument === undefined) return sampleSurvey(data);
  const path = resolve(process.cwd(), argument);
  if (!existsSync(path)) throw new UsageError(`no such file or folder: ${path}`);
  if (statSync(path).isDirectory()) {
    const photos = photosIn(path);
    if (photos.length === 0) throw new UsageError(`${path} holds no photos (.jpg, .jpeg, .png, .tif, .dng)`);
    const zip = join(data.uploads, `${basename(path) || "photos"}-${new Date().toISOString().replace(/[:.]/g, "-")}.zip`);
    await zipFiles(path, photos, zip);
    console.log(`zipped ${photos.length} photos from ${path} into ${zip}`);
    return zip;
  }
  if (!/\.zip$/i.test(path)) throw new UsageError(`${path} is not a .zip file: pass a ZIP of photos or a folder of photos`);
  return path;
}

/** `python -m samples.survey` into `<data>/samples/survey/`, once: later runs reuse it. */
function sampleSurvey(data: DataDir): string {
  const out = join(data.samples, "survey");
  const zip = join(out, "survey.zip");
  if (existsSync(zip)) {
    console.log(`sample survey: ${zip} (generated earlier; delete it to make a new one)`);
    return zip;
  }
  mkdirSync(out, { recursive: true });
  const python = process.env["SPACEPORT_PYTHON"] ?? "python3";
  console.log(`generating the sample survey: ${python} -m samples.survey --out ${out}`);
  const result = spawnSync(python, ["-m", "samples.survey", "--out", out], { cwd: REPO_ROOT, stdio: "inherit" });
  if (result.error || result.status !== 0 || !existsSync(zip)) {
    throw new Error(`could not generate the sample survey (${result.error?.message ?? `exit code ${result.status}`}); the Python environment comes from: source scripts/env.sh && ensure_python`);
  }
  return zip;
}
