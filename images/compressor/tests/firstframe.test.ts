// The delivery's first frame, through the real stages: a generated capture -> SfM -> a short
// training run -> the compressor -> the viewer page in headless Chromium. A ground-level walk
// around the house (no GPS) must open on the house (the frame's centre shows the model, not the
// background); the aerial survey must still open at an oblique angle on the site. The reports'
// warnings and the page's scale line are checked on the way (they come through the same hops).
// Small images and 20 training steps keep it to a few minutes on 2 cores. So short a run leaves
// large splats, so the overview camera's centre would show model too: the test also checks the
// ground view stands where a photo was taken, which the overview does not.
// SPACEPORT_FIRSTVIEW_SHOTS=<dir> keeps the two first frames as PNGs there.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { captureViewer, type Capture } from "../src/browser.js";
import { centreCoverage } from "../src/frame.js";
import { parsePly } from "../src/ply.js";
import type { CameraJson } from "../src/synthetic.js";
import { initialCameraEnu, VIEWER_BACKGROUND } from "../src/viewer.js";
import { makeJob, ROOT, runCompressor } from "./helpers.js";

const PYTHON = process.env["SPACEPORT_PYTHON"] ?? "python3";
const SHOTS = process.env["SPACEPORT_FIRSTVIEW_SHOTS"];
const TRAIN = { quality: "preview", steps: "20", resolution_scale: "0.5", num_downscales: "0", refine_start: "1000", num_renders: "0", holdout_every: "0" };

function run(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, SPACEPORT_PYTHON: PYTHON, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout.on("data", (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    child.stderr.on("data", (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(" ")} exited ${code}:\n${log}`))));
  });
}

type Delivery = { dir: string; base: string; report: any; html: string; capture: Capture; coverage: number; elevationDeg: number };

/** Generates a capture with `surveyArgs` and takes it through every stage to a rendered first frame. */
async function firstFrame(root: string, name: string, surveyArgs: string[]): Promise<Delivery> {
  const base = join(root, name);
  await run(PYTHON, ["-m", "samples.survey", "--out", join(base, "survey"), "--seed", "0", ...surveyArgs], {});
  const sfm = join(base, "sfm");
  mkdirSync(join(sfm, "processing", "input", "photos"), { recursive: true });
  copyFileSync(join(base, "survey", "survey.zip"), join(sfm, "processing", "input", "photos", "survey.zip"));
  await run("bash", ["images/sfm/entrypoint.sh"], { SPACEPORT_OPT_ML: sfm, SFM_NUM_THREADS: "2" });
  const train = join(base, "train");
  mkdirSync(join(train, "input", "config"), { recursive: true });
  mkdirSync(join(train, "input", "data"), { recursive: true });
  await run("cp", ["-r", join(sfm, "processing", "output", "sfm"), join(train, "input", "data", "sfm")], {});
  writeFileSync(join(train, "input", "config", "hyperparameters.json"), JSON.stringify(TRAIN));
  await run("bash", ["images/gaussian-splatting/entrypoint.sh", "train"], { SPACEPORT_OPT_ML: train });
  const job = makeJob(`firstframe-${name}`);
  const model = join(train, "model");
  await tar.c({ gzip: true, file: join(job.input, "model.tar.gz"), cwd: model }, readdirSync(model));
  const compressed = await runCompressor(job, { COMPRESS_PREVIEW: "0", COMPRESS_FIDELITY: "0", COMPRESS_SPZ: "0", COMPRESS_SH_ITERATIONS: "3" });
  if (compressed.code !== 0) throw new Error(`compressor exited ${compressed.code}: ${compressed.stderr.slice(-2000)}`);
  const capture = await captureViewer(job.delivery, { width: 640, height: 480, query: "?noui&noanim" });
  if (SHOTS) { mkdirSync(SHOTS, { recursive: true }); writeFileSync(join(SHOTS, `first-frame-${name}.png`), capture.png); }
  const report = JSON.parse(readFileSync(join(job.delivery, "report.json"), "utf8"));
  const { position: p, target: t } = report.viewer.camera as { position: number[]; target: number[] };
  const elevationDeg = (Math.atan2(p[2]! - t[2]!, Math.hypot(p[0]! - t[0]!, p[1]! - t[1]!)) * 180) / Math.PI;
  return { dir: job.root, base, report, html: readFileSync(join(job.delivery, "index.html"), "utf8"), capture, coverage: centreCoverage(capture.png, VIEWER_BACKGROUND), elevationDeg };
}

let root: string;
let ground: Delivery;
let aerial: Delivery;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "spaceport-firstframe-"));
  ground = await firstFrame(root, "ground", ["--pattern", "ground", "--count", "24", "--width", "480", "--height", "360"]);
  aerial = await firstFrame(root, "nadir", ["--pattern", "both", "--count", "12", "--width", "480", "--height", "360"]);
}, 900_000);

afterAll(() => {
  if (process.env["KEEP_TEST_OUTPUT"]) return;
  for (const d of [root, ground?.dir, aerial?.dir]) if (d) rmSync(d, { recursive: true, force: true });
});

/** How far a view is from standing in for `photo`: angle between the view's and the photo's
 * optical axes (degrees), and the distance between their positions relative to the view's range. */
function fromPhoto(view: { position: number[]; target: number[] }, photo: CameraJson): { angleDeg: number; offset: number } {
  const d = [0, 1, 2].map((k) => view.target[k]! - view.position[k]!);
  const f = [0, 1, 2].map((k) => photo.rotation[k]![2]!);
  const cos = (d[0]! * f[0]! + d[1]! * f[1]! + d[2]! * f[2]!) / (Math.hypot(...d) * Math.hypot(...f));
  const offset = Math.hypot(...[0, 1, 2].map((k) => view.position[k]! - photo.position[k]!)) / Math.hypot(...d);
  return { angleDeg: (Math.acos(Math.min(1, cos)) * 180) / Math.PI, offset };
}

describe("the delivery's first frame fits the capture", () => {
  test("a ground-level walk around the house opens on the house, where a photo was taken", () => {
    const capture = ground.report.viewer.capture;
    console.log(`ground: capture ${JSON.stringify(capture)}, view elevation ${ground.elevationDeg.toFixed(1)} deg, centre ${(100 * ground.coverage).toFixed(0)}% model`);
    expect(capture.kind).toBe("ground");
    expect(Math.abs(ground.elevationDeg)).toBeLessThan(15); // about level, as the photos were taken
    expect(ground.coverage).toBeGreaterThanOrEqual(0.9);
    expect(ground.capture.consoleErrors).toEqual([]);
    // the view stands in for a real photo: (nearly) its position and viewing direction
    const cameras = JSON.parse(readFileSync(join(ground.base, "train", "model", "cameras.json"), "utf8")) as CameraJson[];
    const photo = cameras.find((c) => c.img_name === capture.photo)!;
    const near = fromPhoto(ground.report.viewer.camera, photo);
    console.log(`ground: first view vs photo ${capture.photo}: ${near.angleDeg.toFixed(1)} deg, offset ${(100 * near.offset).toFixed(0)}% of the range`);
    expect(near.angleDeg).toBeLessThan(10);
    expect(near.offset).toBeLessThan(0.3);
    // the aerial overview (the first view before poses were used) fails the same test on this capture
    const overview = fromPhoto(initialCameraEnu(parsePly(readFileSync(join(ground.base, "train", "model", "point_cloud.ply"))), cameras), photo);
    console.log(`ground: the aerial overview would be ${overview.angleDeg.toFixed(1)} deg off that photo's axis`);
    expect(overview.angleDeg).toBeGreaterThan(30);
  });

  test("the aerial survey still opens at an oblique angle on the site", () => {
    console.log(`nadir: capture ${JSON.stringify(aerial.report.viewer.capture)}, view elevation ${aerial.elevationDeg.toFixed(1)} deg, centre ${(100 * aerial.coverage).toFixed(0)}% model`);
    expect(aerial.report.viewer.capture.kind).toBe("aerial");
    expect(aerial.elevationDeg).toBeCloseTo(50, 3);
    expect(aerial.coverage).toBeGreaterThanOrEqual(0.9);
    expect(aerial.capture.consoleErrors).toEqual([]);
  });

  test("the stages' warnings and the metric flag reach the delivery and its page", () => {
    // These short runs hold out no photo, so the trainer's own warning comes through too.
    const trainer = expect.objectContaining({ stage: "gaussian-splatting", code: "quality_not_measured" });
    expect(ground.report.warnings).toEqual([expect.objectContaining({ stage: "sfm", code: "not-georeferenced" }), trainer]);
    expect(ground.report.georeference).toMatchObject({ frame: "arbitrary", metric: false });
    expect(ground.html).toContain("Not to scale: the photos had no GPS");
    expect(aerial.report.warnings).toEqual([trainer]);
    expect(aerial.report.georeference).toMatchObject({ frame: "enu", metric: true });
    expect(aerial.html).toMatch(/Scale: metres \(GPS-referenced, ±0\.\d\d m\)/);
  });
});
