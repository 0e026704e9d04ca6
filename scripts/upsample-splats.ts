// A large scene from a small trained one, for the viewer benchmark: every Gaussian is split into
// k smaller ones drawn from its own footprint (centres sampled from the Gaussian at half its
// spread, scales divided by k^(1/3) so the children fill about the parent's volume, same
// rotation, colour and opacity), until the scene has exactly `target` Gaussians.
import { mulberry32 } from "../images/compressor/src/synthetic.js";
import { splatColumnNames, type Splats } from "../images/compressor/src/ply.js";

/** Rotates v by the unit quaternion (w, x, y, z). */
function rotate(q: [number, number, number, number], v: [number, number, number]): [number, number, number] {
  const [w, x, y, z] = q;
  const [vx, vy, vz] = v;
  const tx = 2 * (y * vz - z * vy), ty = 2 * (z * vx - x * vz), tz = 2 * (x * vy - y * vx);
  return [vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx)];
}

/** `target` Gaussians (at least the scene's own count) split from `scene`, SH degree `shDegree` (at most the scene's). */
export function upsampleSplats(scene: Splats, target: number, shDegree = scene.shDegree, seed = 1): Splats {
  if (!Number.isInteger(target) || target < scene.count) throw new Error(`upsample target ${target} must be a whole number of at least the scene's ${scene.count} Gaussians`);
  if (shDegree > scene.shDegree) throw new Error(`the scene has SH degree ${scene.shDegree}, not ${shDegree}`);
  const k = Math.ceil(target / scene.count), shrink = Math.log(k) / 3;
  const names = splatColumnNames(shDegree);
  const src = (n: string): Float32Array => scene.columns.get(n)!;
  const out = new Map(names.map((n) => [n, new Float32Array(target)]));
  const rnd = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  const [x, y, z, r0, r1, r2, r3, s0, s1, s2] = ["x", "y", "z", "rot_0", "rot_1", "rot_2", "rot_3", "scale_0", "scale_1", "scale_2"].map(src) as Float32Array[];
  const copied = names.filter((n) => !/^(x|y|z|scale_\d)$/.test(n));
  for (let o = 0; o < target; o++) {
    const i = Math.floor(o / k) % scene.count;
    const q = [r0![i]!, r1![i]!, r2![i]!, r3![i]!] as [number, number, number, number];
    const len = Math.hypot(...q) || 1;
    const local: [number, number, number] = [0.5 * gauss() * Math.exp(s0![i]!), 0.5 * gauss() * Math.exp(s1![i]!), 0.5 * gauss() * Math.exp(s2![i]!)];
    const d = rotate(q.map((c) => c / len) as typeof q, local);
    out.get("x")![o] = x![i]! + d[0]; out.get("y")![o] = y![i]! + d[1]; out.get("z")![o] = z![i]! + d[2];
    out.get("scale_0")![o] = s0![i]! - shrink; out.get("scale_1")![o] = s1![i]! - shrink; out.get("scale_2")![o] = s2![i]! - shrink;
    for (const n of copied) out.get(n)![o] = src(n)[i]!;
  }
  return { count: target, columns: out, shDegree };
}
