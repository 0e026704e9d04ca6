// The viewer's first camera, chosen from how the photos were taken (their poses in
// cameras.json, in the model's ENU frame, z up). An aerial survey (photos pitched well below the
// horizon) opens on the oblique overview of viewer.ts. A ground-level capture (photos held
// about level, around or along a subject) opens where a photographer stood: at the cameras'
// mean height and their typical distance from the point their optical axes converge on,
// looking at that point, with the photos' own field of view.
import { CAMERA_FOV_RANGE } from "@playcanvas/splat-transform/viewer-settings";
import type { Splats } from "./ply.js";
import type { CameraJson } from "./synthetic.js";
import { initialCameraEnu, type Vec3, type ViewerCamera } from "./viewer.js";

/** Photos pitched less than this far below the horizon (median) are a ground-level capture. */
export const GROUND_MAX_PITCH_DEG = 25;

export type CaptureKind = "aerial" | "ground" | "unknown";
export type FirstView = {
  camera: ViewerCamera;
  /** `photo`: the photo the first view stands in for (ground-level captures). */
  capture: { kind: CaptureKind; photos: number; medianPitchDeg: number | null; view: string; photo?: string };
};

const deg = (rad: number): number => (rad * 180) / Math.PI;
const medianOf = (v: number[]): number => { const s = [...v].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)] ?? 0; };
/** Optical axis (world): camera z, the third column of the camera-to-world rotation. */
const forward = (c: CameraJson): Vec3 => [c.rotation[0]?.[2] ?? 0, c.rotation[1]?.[2] ?? 0, c.rotation[2]?.[2] ?? 0];
/** Degrees below the horizon the photo looks (negative: above). */
export const pitchDeg = (c: CameraJson): number => deg(Math.asin(Math.max(-1, Math.min(1, -forward(c)[2]))));

/** The point closest, in least squares, to every camera's optical axis; null when the axes are (nearly) parallel. */
export function convergencePoint(cameras: CameraJson[]): Vec3 | null {
  const a = [0, 0, 0, 0, 0, 0, 0, 0, 0], b = [0, 0, 0];
  for (const c of cameras) {
    const d = forward(c), n = Math.hypot(...d) || 1;
    const u = d.map((x) => x / n);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
      const m = (i === j ? 1 : 0) - u[i]! * u[j]!;
      a[3 * i + j]! += m;
      b[i]! += m * c.position[j]!;
    }
  }
  const [a0, a1, a2, a3, a4, a5, a6, a7, a8] = a as [number, number, number, number, number, number, number, number, number];
  const det = a0 * (a4 * a8 - a5 * a7) - a1 * (a3 * a8 - a5 * a6) + a2 * (a3 * a7 - a4 * a6);
  // parallel axes make the system singular; relative to the camera count, well below 1e-3 is that
  if (!(Math.abs(det) > 1e-3 * cameras.length ** 3)) return null;
  const inv = [a4 * a8 - a5 * a7, a2 * a7 - a1 * a8, a1 * a5 - a2 * a4, a5 * a6 - a3 * a8, a0 * a8 - a2 * a6, a2 * a3 - a0 * a5, a3 * a7 - a4 * a6, a1 * a6 - a0 * a7, a0 * a4 - a1 * a3];
  const x = [0, 1, 2].map((i) => (inv[3 * i]! * b[0]! + inv[3 * i + 1]! * b[1]! + inv[3 * i + 2]! * b[2]!) / det) as Vec3;
  // the subject must lie in front of most cameras, or the "convergence" is behind them
  const ahead = cameras.filter((c) => { const d = forward(c); return d[0] * (x[0] - c.position[0]) + d[1] * (x[1] - c.position[1]) + d[2] * (x[2] - c.position[2]) > 0; });
  return ahead.length >= 0.75 * cameras.length ? x : null;
}

/** Vertical field of view of the photos (median), within the viewer's bounds. */
function photoFov(cameras: CameraJson[], fallback: number): number {
  const fovs = cameras.filter((c) => c.fy > 0 && c.height > 0).map((c) => deg(2 * Math.atan(c.height / (2 * c.fy))));
  const fov = fovs.length ? medianOf(fovs) : fallback;
  return Math.min(CAMERA_FOV_RANGE.max, Math.max(CAMERA_FOV_RANGE.min, Math.round(fov * 10) / 10));
}

/** Ground-level first view: a photographer's stand on the orbit around the cameras' subject. */
function groundView(cameras: CameraJson[]): { camera: ViewerCamera; photo: string } | null {
  const centre = convergencePoint(cameras);
  if (!centre) return null;
  const horizontal = cameras.map((c) => Math.hypot(c.position[0] - centre[0], c.position[1] - centre[1]));
  const radius = medianOf(horizontal);
  if (!(radius > 1e-6)) return null;
  // the representative photo: the one aimed most squarely at the subject
  const aim = (c: CameraJson): number => {
    const d = forward(c), v = [centre[0] - c.position[0], centre[1] - c.position[1], centre[2] - c.position[2]];
    return (d[0] * v[0]! + d[1] * v[1]! + d[2] * v[2]!) / (Math.hypot(...d) * Math.hypot(...v) || 1);
  };
  const rep = cameras.reduce((best, c) => (aim(c) > aim(best) ? c : best));
  const dx = rep.position[0] - centre[0], dy = rep.position[1] - centre[1], l = Math.hypot(dx, dy) || 1;
  const height = cameras.reduce((s, c) => s + c.position[2], 0) / cameras.length;
  const position: Vec3 = [centre[0] + (dx / l) * radius, centre[1] + (dy / l) * radius, height];
  return { camera: { position, target: centre, fov: photoFov(cameras, 60) }, photo: rep.img_name };
}

/** The first view for a model and the photos' poses (null or empty: no poses, the splats alone decide). */
export function firstView(splats: Splats, cameras: CameraJson[] | null): FirstView {
  const posed = (cameras ?? []).filter((c) => c.position.length === 3 && c.position.every(Number.isFinite) && c.rotation.length === 3);
  if (posed.length === 0) {
    return { camera: initialCameraEnu(splats, null), capture: { kind: "unknown", photos: 0, medianPitchDeg: null, view: "oblique overview of the splats (no photo poses)" } };
  }
  const medianPitch = medianOf(posed.map(pitchDeg));
  const summary = { photos: posed.length, medianPitchDeg: Math.round(medianPitch * 10) / 10 };
  if (medianPitch < GROUND_MAX_PITCH_DEG && posed.length >= 3) {
    const ground = groundView(posed);
    if (ground) {
      const view = "at the photos' mean height, looking at the point they converge on";
      return { camera: ground.camera, capture: { kind: "ground", ...summary, view, photo: ground.photo } };
    }
  }
  const kind: CaptureKind = medianPitch < GROUND_MAX_PITCH_DEG ? "ground" : "aerial";
  return { camera: initialCameraEnu(splats, posed), capture: { kind, ...summary, view: "oblique overview, heading as flown" } };
}
