// The first view from the photos' poses, the upstream reports the compressor carries, and the
// frame analysis the first-frame test relies on.
import { describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { centreCoverage, decodePng } from "../src/frame.js";
import { convergencePoint, firstView, pitchDeg } from "../src/firstview.js";
import { syntheticCameras, syntheticScene, type CameraJson } from "../src/synthetic.js";
import { readUpstream, scaleNotice, stageWarnings } from "../src/upstream.js";

type V = [number, number, number];
const sub = (a: V, b: V): V => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: V, b: V): V => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const unit = (a: V): V => { const l = Math.hypot(...a); return [a[0] / l, a[1] / l, a[2] / l]; };

/** An OpenCV camera (x right, y down, z forward) at `c` looking at `t`, z up. */
function lookAt(id: number, c: V, t: V, width = 480, height = 360): CameraJson {
  const f = unit(sub(t, c)), r = unit(cross(f, [0, 0, 1])), d = cross(f, r);
  return { id, img_name: `P${id}.JPG`, width, height, fx: 320, fy: 320, position: c, rotation: [0, 1, 2].map((i) => [r[i]!, d[i]!, f[i]!]), held_out: false };
}
const ring = (n: number, radius: number, z: number, target: V): CameraJson[] =>
  Array.from({ length: n }, (_, i) => lookAt(i, [radius * Math.cos((2 * Math.PI * i) / n), radius * Math.sin((2 * Math.PI * i) / n), z], target));
const scene = syntheticScene(2000, 0, 3);

describe("first view from the photos' poses", () => {
  test("a nadir survey opens on the oblique overview (50 degrees above the horizon)", () => {
    const view = firstView(scene, syntheticCameras());
    expect(view.capture).toMatchObject({ kind: "aerial", photos: 6, medianPitchDeg: 90 });
    const [p, t] = [view.camera.position, view.camera.target];
    const elevation = (Math.atan2(p[2] - t[2], Math.hypot(p[0] - t[0], p[1] - t[1])) * 180) / Math.PI;
    expect(elevation).toBeCloseTo(50, 5);
  });

  test("a ground-level ring opens at the cameras' height and distance, looking at the point they converge on", () => {
    const cams = ring(12, 15, 1.7, [0.5, -0.5, 3]);
    expect(pitchDeg(cams[0]!)).toBeCloseTo((-Math.atan2(1.3, Math.hypot(14.5, 0.5)) * 180) / Math.PI, 6); // looking slightly up
    const view = firstView(scene, cams);
    expect(view.capture.kind).toBe("ground");
    const { position, target, fov } = view.camera;
    // the view stands on the line from the subject to its representative photo
    const photo = cams.find((c) => c.img_name === view.capture.photo)!;
    const bearing = (p: number[]) => Math.atan2(p[1]! - target[1], p[0]! - target[0]);
    expect(bearing(position)).toBeCloseTo(bearing(photo.position), 6);
    for (let k = 0; k < 3; k++) expect(target[k]).toBeCloseTo([0.5, -0.5, 3][k]!, 6);
    expect(position[2]).toBeCloseTo(1.7, 6);
    // the photos' median distance from their subject
    const distances = cams.map((c) => Math.hypot(c.position[0] - 0.5, c.position[1] + 0.5)).sort((a, b) => a - b);
    expect(Math.hypot(position[0] - 0.5, position[1] + 0.5)).toBeCloseTo(distances[5]!, 6);
    expect(fov).toBeCloseTo((2 * Math.atan(180 / 320) * 180) / Math.PI, 0); // the photos' vertical field of view
  });

  test("ground photos with parallel axes (a facade walked along) fall back to the overview", () => {
    const cams = Array.from({ length: 6 }, (_, i) => lookAt(i, [i * 2, -10, 1.6], [i * 2, 0, 1.6]));
    expect(convergencePoint(cams)).toBeNull();
    expect(firstView(scene, cams).capture).toMatchObject({ kind: "ground", view: "oblique overview, heading as flown" });
  });

  test("axes that meet behind the cameras are no subject", () => {
    const outward = ring(8, 10, 1.7, [0, 0, 1.7]).map((c) => ({ ...c, rotation: c.rotation.map((row) => [-row[0]!, row[1]!, -row[2]!]) }));
    expect(convergencePoint(outward)).toBeNull();
  });

  test("no poses: the splats alone decide", () => {
    expect(firstView(scene, null).capture.kind).toBe("unknown");
    expect(firstView(scene, []).capture.kind).toBe("unknown");
  });
});

describe("upstream reports", () => {
  test("every stage's warnings with its name, the SfM georeference, damaged entries dropped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "spaceport-upstream-"));
    try {
      const sfm = { stage: "sfm", georeference: { frame: "enu", metric: false, rms_m: 121.4, extent_m: 402, reason: "poor fit" },
        warnings: [{ code: "georeference-not-metric", message: "The model is not reliably metric" }, { code: 3 }, "text"] };
      writeFileSync(join(dir, "upstream.json"), JSON.stringify({ reports: [sfm, 7] }));
      writeFileSync(join(dir, "metrics.json"), JSON.stringify({ psnr: 20, warnings: [{ code: "blurry", message: "The model is blurry" }] }));
      const up = await readUpstream(join(dir, "upstream.json"), join(dir, "metrics.json"));
      expect(up.warnings).toEqual([
        { stage: "sfm", code: "georeference-not-metric", message: "The model is not reliably metric" },
        { stage: "gaussian-splatting", code: "blurry", message: "The model is blurry" },
      ]);
      expect(up.georeference).toEqual({ frame: "enu", metric: false, rms_m: 121.4, extent_m: 402, reason: "poor fit" });
      writeFileSync(join(dir, "upstream.json"), "{broken");
      expect(await readUpstream(join(dir, "upstream.json"), null)).toEqual({ warnings: [], georeference: null });
      expect(await readUpstream(null, null)).toEqual({ warnings: [], georeference: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("long messages and many warnings are capped", () => {
    const many = Array.from({ length: 30 }, (_, i) => ({ code: `c${i}`, message: "x".repeat(5000) }));
    const out = stageWarnings({ warnings: many }, "sfm");
    expect(out).toHaveLength(20);
    expect(out[0]!.message).toHaveLength(1000);
  });

  test("the page's scale line follows the metric flag", () => {
    expect(scaleNotice(null)).toBeNull();
    expect(scaleNotice({ frame: "enu", metric: true, rms_m: 0.004, extent_m: 60 })).toBe("Scale: metres (GPS-referenced, ±0.00 m)");
    expect(scaleNotice({ frame: "enu", metric: false, rms_m: 121, extent_m: 402 })).toMatch(/^Distances in this model are not reliable/);
    expect(scaleNotice({ frame: "arbitrary", metric: false, rms_m: null, extent_m: null })).toMatch(/^Not to scale: the photos had no GPS/);
  });
});

/** A PNG of `rgb(x, y)` with each row's filter type cycling through 0-4 (the decoder must undo each). */
function png(width: number, height: number, rgb: (x: number, y: number) => V): Buffer {
  const rows: number[] = [], pixels: number[][] = [];
  for (let y = 0; y < height; y++) {
    const row: number[] = [];
    for (let x = 0; x < width; x++) row.push(...rgb(x, y));
    pixels.push(row);
  }
  for (let y = 0; y < height; y++) {
    const filter = y % 5, row = pixels[y]!, prev = pixels[y - 1];
    rows.push(filter);
    row.forEach((v, i) => {
      const a = i >= 3 ? row[i - 3]! : 0, b = prev ? prev[i]! : 0, c = i >= 3 && prev ? prev[i - 3]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      rows.push((v - pred) & 0xff);
    });
  }
  const chunk = (type: string, body: Buffer): Buffer => {
    const len = Buffer.alloc(4); len.writeUInt32BE(body.length);
    return Buffer.concat([len, Buffer.from(type, "latin1"), body, Buffer.alloc(4)]); // the decoder does not check CRCs
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.from(rows))), chunk("IEND", Buffer.alloc(0))]);
}

describe("frame analysis", () => {
  test("PNG rows decode under every filter type", () => {
    const img = decodePng(png(7, 10, (x, y) => [x * 30, y * 20, (x * y * 7) % 256]));
    expect(img).toMatchObject({ width: 7, height: 10, channels: 3 });
    for (let y = 0; y < 10; y++) for (let x = 0; x < 7; x++) {
      expect([...img.data.subarray((y * 7 + x) * 3, (y * 7 + x) * 3 + 3)]).toEqual([x * 30, y * 20, (x * y * 7) % 256]);
    }
  });

  test("centre coverage counts the central box's pixels that are not the background", () => {
    const bg: V = [28, 31, 36];
    const frame = png(100, 100, (x, y) => (x >= 40 && x < 60 && y >= 40 && y < 50 ? [200, 120, 90] : bg));
    expect(centreCoverage(frame, [28 / 255, 31 / 255, 36 / 255])).toBeCloseTo(0.5, 6);
    expect(centreCoverage(png(100, 100, () => [34, 37, 42]), [28 / 255, 31 / 255, 36 / 255])).toBe(0); // within the tolerance
  });
});
