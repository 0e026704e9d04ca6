// End to end: a generated SH-degree-3 scene in a model.tar.gz through the entry program; the
// SOG is read back with splat-transform and checked per attribute; the viewer is opened in
// headless Chromium.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tar from "tar";
import { formatBytes } from "../../../pipeline/format.js";
import { captureViewer, chromiumPath } from "../src/browser.js";
import { attributeErrors } from "../src/fidelity.js";
import { encodePly } from "../src/ply.js";
import { readSogEnu } from "../src/sog.js";
import { syntheticCameras, syntheticScene } from "../src/synthetic.js";
import { listFiles, makeJob, ROOT, runCompressor, type Job } from "./helpers.js";

const N = 30000;
let job: Job;
let run: { code: number; stdout: string; stderr: string };
let report: any;
const scene = syntheticScene(N, 3, 7);

beforeAll(async () => {
  job = makeJob("compress");
  const model = join(job.root, "model");
  mkdirSync(model);
  writeFileSync(join(model, "point_cloud.ply"), encodePly(scene.columns));
  writeFileSync(join(model, "cameras.json"), JSON.stringify(syntheticCameras()));
  writeFileSync(join(model, "metrics.json"), JSON.stringify({ psnr: 25.61, ssim: 0.84, images: { train: 4, held_out: 2 } }));
  // the SfM report the trainer carries: a metric GPS fit with its origin
  writeFileSync(join(model, "upstream.json"), JSON.stringify({ reports: [{ stage: "sfm", georeference: { frame: "enu", metric: true, rms_m: 0.12, extent_m: 40 }, gps: { origin: { lat: 38.29471, lon: -122.45812, alt: 30 } } }] }));
  await tar.c({ gzip: true, file: join(job.input, "model.tar.gz"), cwd: model }, ["point_cloud.ply", "cameras.json", "metrics.json", "upstream.json"]);
  run = await runCompressor(job, { COMPRESS_TITLE: "Caliterra <test> site", COMPRESS_SH_ITERATIONS: "6", COMPRESS_REMOVE_FLOATERS: "0" });
  if (run.code === 0) report = JSON.parse(readFileSync(join(job.delivery, "report.json"), "utf8"));
}, 170_000);

afterAll(() => { if (!process.env.KEEP_TEST_OUTPUT) rmSync(job.root, { recursive: true, force: true }); });

describe("compressor stage on a generated SH3 scene", () => {
  test("exits 0, prints progress and writes the delivery", () => {
    expect({ code: run.code, stderr: run.code ? run.stderr.slice(-2000) : "" }).toEqual({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^progress: 100\.0% done$/m);
    const files = listFiles(job.delivery);
    for (const f of ["scene.sog", "scene.spz", "index.html", "index.js", "index.css", "measure.js", "preview.webp", "thumbnail.jpg", "report.json"]) expect(files[f]).toBeGreaterThan(0);
    // nothing but the delivery and nothing in the sandbox's temp folder
    expect(Object.keys(listFiles(join(job.optMl, "processing", "output"))).every((f) => f.startsWith("delivery/"))).toBe(true);
    expect(listFiles(job.tmp)).toEqual({});
  });

  test("compression ratio of the SH3 scene is at least 10x", () => {
    const ratio = report.output.compressionRatio as number;
    console.log(`SOG ${report.output.sogBytes} bytes for ${N} SH3 Gaussians (PLY ${report.input.plyBytes} bytes): ${ratio.toFixed(2)}x; SPZ ${report.output.spzCompressionRatio.toFixed(2)}x`);
    expect(ratio).toBeGreaterThanOrEqual(10);
    expect(report.gaussians).toEqual({ input: N, delivered: N, removed: { nonFinite: 0, transparent: 0, floaters: 0 } });
    expect(report.sh.bands).toBe(3);
    expect(report.preview.written).toBe(true);
  });

  test("SOG round trip through splat-transform's reader is within per-attribute tolerances", async () => {
    const decoded = await readSogEnu(new Uint8Array(readFileSync(join(job.delivery, "scene.sog"))));
    expect(decoded.count).toBe(N);
    expect(decoded.shDegree).toBe(3);
    // texel order is Morton order: match rows by nearest original position (positions are 16-bit log-encoded)
    const key = (x: number, y: number, z: number): string => `${Math.round(x * 20)},${Math.round(y * 20)},${Math.round(z * 20)}`;
    const index = new Map<string, number[]>();
    const ox = scene.columns.get("x")!, oy = scene.columns.get("y")!, oz = scene.columns.get("z")!;
    for (let i = 0; i < N; i++) { const k = key(ox[i]!, oy[i]!, oz[i]!); (index.get(k) ?? index.set(k, []).get(k)!).push(i); }
    const order = new Uint32Array(N);
    const dx = decoded.columns.get("x")!, dy = decoded.columns.get("y")!, dz = decoded.columns.get("z")!;
    let matched = 0;
    for (let i = 0; i < N; i++) {
      let best = -1, bd = Infinity;
      const bx = Math.round(dx[i]! * 20), by = Math.round(dy[i]! * 20), bz = Math.round(dz[i]! * 20);
      for (let a = -1; a <= 1; a++) for (let b = -1; b <= 1; b++) for (let c = -1; c <= 1; c++) {
        for (const j of index.get(`${bx + a},${by + b},${bz + c}`) ?? []) {
          const d = (ox[j]! - dx[i]!) ** 2 + (oy[j]! - dy[i]!) ** 2 + (oz[j]! - dz[i]!) ** 2;
          if (d < bd) { bd = d; best = j; }
        }
      }
      if (best >= 0) { order[i] = best; matched++; }
    }
    expect(matched).toBe(N);
    const e = attributeErrors(scene, decoded, order);
    console.log("round-trip errors", JSON.stringify(e));
    expect(e.positionMaxOverExtent).toBeLessThan(2e-3); // 16-bit log-encoded means
    expect(e.colorDcRmse).toBeLessThan(0.03); // 256-entry codebook on f_dc (SH units)
    expect(e.opacityMaxAbs).toBeLessThanOrEqual(1 / 255 + 1e-6); // 8-bit sigmoid(opacity)
    expect(e.scaleLogRmse).toBeLessThan(0.03); // 256-entry codebook on log-scale
    expect(e.rotationMaxAngleDeg).toBeLessThan(3); // 8-bit smallest-three quaternions
    // SH palette (k-means) + 8-bit codebook: clearly better than dropping SH (error = std)
    expect(e.shRestRmse!).toBeLessThan(0.75 * e.shRestStd!);
    expect(report.fidelity.attributes.shRestRmse).toBeCloseTo(e.shRestRmse!, 3);
  });

  test("the page and the report say what the buyer gets; the thumbnail is small enough for email", () => {
    expect(report.quality).toMatchObject({ grade: "sharp", psnrDb: 25.61, views: 2, words: "sharp (25.6 dB PSNR on 2 held-out photos)" });
    expect(report.place).toEqual({ lat: 38.29471, lon: -122.45812, words: "38.29471° N, 122.45812° W" });
    const html = readFileSync(join(job.delivery, "index.html"), "utf8");
    const line = /<div id="spaceport-facts"[^>]*>([^<]*)<\/div>/.exec(html)?.[1];
    // the coordinates are the measuring tool's Site label (its config block), so the line does not repeat them
    expect(line).toBe(`Quality: sharp (25.6 dB PSNR on 2 held-out photos) · scene ${formatBytes(report.output.sogBytes)}`);
    expect(html).toContain('"site":{"lat":38.29471,"lon":-122.45812}');
    expect(report.sh).toMatchObject({ method: "faiss", converged: expect.any(Boolean) });
    expect(report.sh.iterations).toBeLessThanOrEqual(6);
    const thumb = readFileSync(join(job.delivery, "thumbnail.jpg"));
    expect([...thumb.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // JPEG
    expect(thumb.byteLength).toBeLessThanOrEqual(60 * 1024);
    expect(report.preview.thumbnail).toMatchObject({ written: true, file: "thumbnail.jpg", width: 480, height: 270, bytes: thumb.byteLength });
  });

  test("viewer page has the title, loads scene.sog and starts above the site", () => {
    const html = readFileSync(join(job.delivery, "index.html"), "utf8");
    expect(html).toContain("<title>Caliterra &#60;test&#62; site</title>");
    expect(html).toContain('"contentUrl":"./scene.sog"');
    const cam = report.viewer.camera;
    expect(cam.position[2]).toBeGreaterThan(cam.target[2] + 5); // above the ground, looking down
    const horiz = Math.hypot(cam.position[0] - cam.target[0], cam.position[1] - cam.target[1]);
    expect(horiz).toBeGreaterThan(1); // at an angle, not straight down
  });

  test("report has render fidelity from held-out cameras when the trainer's renderer is installed", () => {
    const renders = report.fidelity.renders;
    if (existsSync(join(ROOT, "images", "gaussian-splatting", "gs_trainer", "render.py"))) {
      expect(renders.available).toBe(true);
      expect(renders.heldOutViews).toBe(2); // syntheticCameras(): ids 2 and 5 are held out
      console.log(`held-out render PSNR of the SOG vs the uncompressed PLY: ${renders.meanPsnr} dB`);
      expect(renders.meanPsnr ?? Infinity).toBeGreaterThan(28);
    } else {
      expect(renders).toEqual({ available: false, reason: expect.stringContaining("gs_trainer.render") });
    }
    expect(report.timings.wall_s).toBeGreaterThan(0);
    expect(report.output.sogBytes).toBe(readFileSync(join(job.delivery, "scene.sog")).byteLength);
  });

  const browserTest = chromiumPath() ? test : test.skip;
  browserTest("headless Chromium draws the splats with no console error", async () => {
    const cap = await captureViewer(job.delivery, { width: 800, height: 450 });
    writeFileSync(join(job.root, "viewer.png"), cap.png);
    console.log(`first frame after ${cap.firstFrameMs} ms; luma variance ${cap.stats.variance.toFixed(0)}, ${cap.stats.distinctColors} colours; screenshot ${join(job.root, "viewer.png")}`);
    expect(cap.consoleErrors).toEqual([]);
    expect(cap.stats.variance).toBeGreaterThan(200);
    expect(cap.stats.distinctColors).toBeGreaterThan(100);
    // the preview shipped in the delivery is a real WebP
    const preview = readFileSync(join(job.delivery, "preview.webp"));
    expect(preview.subarray(0, 4).toString("latin1")).toBe("RIFF");
    expect(preview.subarray(8, 12).toString("latin1")).toBe("WEBP");
  }, 120_000);
});
