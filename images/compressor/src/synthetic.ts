// Deterministic synthetic 3DGS scenes (metric ENU, z up) for tests and benchmarks: a textured
// ground plane of flat Gaussians with a few box-shaped "buildings", view-dependent colour in
// the SH coefficients, plus the drone-like cameras looking down at it.
import { REST_COUNT, splatColumnNames, type Splats } from "./ply.js";

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SH_C0 = 0.28209479177387814;
const logit = (p: number): number => Math.log(p / (1 - p));

export function syntheticScene(n: number, shDegree = 3, seed = 1, size = 40): Splats {
  const rnd = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const names = splatColumnNames(shDegree);
  const cols = new Map<string, Float32Array>(names.map((c) => [c, new Float32Array(n)]));
  const col = (c: string): Float32Array => cols.get(c)!;
  const rest = REST_COUNT[shDegree] ?? 0;
  const boxes = [[-10, -8, 6, 5, 7], [8, 6, 4, 9, 5], [2, -14, 10, 4, 3]] as const; // cx, cy, w, d, h
  const spacing = size / Math.sqrt(n * 0.8);
  for (let i = 0; i < n; i++) {
    let x: number, y: number, z: number, r: number, g: number, b: number;
    let sx = Math.log(spacing * 0.7), sy = sx, sz = Math.log(spacing * 0.1);
    if (rnd() < 0.8) {
      x = (rnd() - 0.5) * size; y = (rnd() - 0.5) * size; z = 0.05 * gauss();
      const checker = (Math.floor(x / 4) + Math.floor(y / 4)) & 1;
      const road = Math.abs(y) < 2 ? 1 : 0;
      r = road ? 0.35 : checker ? 0.35 : 0.55; g = road ? 0.35 : checker ? 0.55 : 0.45; b = road ? 0.38 : 0.25;
    } else {
      const bx = boxes[Math.floor(rnd() * boxes.length)]!;
      const [cx, cy, w, d, h] = bx;
      const face = Math.floor(rnd() * 5);
      const u = rnd() - 0.5, v = rnd();
      if (face === 4) { x = cx + u * w; y = cy + (rnd() - 0.5) * d; z = h; }
      else if (face < 2) { x = cx + u * w; y = cy + (face === 0 ? -d / 2 : d / 2); z = v * h; sy = sz; sz = sx; }
      else { x = cx + (face === 2 ? -w / 2 : w / 2); y = cy + u * d; z = v * h; sx = Math.log(spacing * 0.1); sz = sy; }
      r = 0.75 + 0.1 * face / 4; g = 0.6; b = 0.5 - 0.05 * face;
    }
    col("x")[i] = x; col("y")[i] = y; col("z")[i] = z;
    const jitter = (): number => 0.04 * gauss();
    col("f_dc_0")[i] = (r + jitter() - 0.5) / SH_C0;
    col("f_dc_1")[i] = (g + jitter() - 0.5) / SH_C0;
    col("f_dc_2")[i] = (b + jitter() - 0.5) / SH_C0;
    for (let k = 0; k < rest; k++) {
      const coeff = k % (rest / 3);
      col(`f_rest_${k}`)[i] = (0.12 / (1 + coeff)) * gauss() + (coeff === 1 ? 0.05 * Math.sin(x / 3) : 0);
    }
    col("opacity")[i] = logit(Math.min(0.99, 0.5 + 0.49 * rnd()));
    col("scale_0")[i] = sx + 0.2 * gauss(); col("scale_1")[i] = sy + 0.2 * gauss(); col("scale_2")[i] = sz + 0.2 * gauss();
    const q = [1 + 0.1 * gauss(), 0.1 * gauss(), 0.1 * gauss(), 0.3 * gauss()];
    const l = Math.hypot(...q);
    for (let k = 0; k < 4; k++) col(`rot_${k}`)[i] = q[k]! / l;
  }
  return { count: n, columns: cols, shDegree };
}

export type CameraJson = {
  id: number; img_name: string; width: number; height: number; fx: number; fy: number;
  position: [number, number, number]; rotation: number[][]; held_out: boolean;
};

/** Nadir-ish drone cameras at `altitude` over a grid, OpenCV convention (x right, y down, z forward). */
export function syntheticCameras(count = 6, altitude = 30, width = 160, height = 120): CameraJson[] {
  const cams: CameraJson[] = [];
  for (let i = 0; i < count; i++) {
    const px = ((i % 3) - 1) * 8, py = (Math.floor(i / 3) - 0.5) * 8;
    // looking straight down: camera z = -world z, camera x = east, camera y = south
    cams.push({
      id: i, img_name: `IMG_${1000 + i}.JPG`, width, height, fx: width * 0.9, fy: width * 0.9,
      position: [px, py, altitude], rotation: [[1, 0, 0], [0, -1, 0], [0, 0, -1]], held_out: i % 3 === 2,
    });
  }
  return cams;
}
