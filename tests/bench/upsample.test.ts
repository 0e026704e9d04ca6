import { describe, expect, test } from "@jest/globals";
import { syntheticScene } from "../../images/compressor/src/synthetic.js";
import { upsampleSplats } from "../../scripts/upsample-splats.js";

describe("the viewer benchmark's large scene", () => {
  test("splits every Gaussian into smaller ones around it, to the exact count", () => {
    const scene = syntheticScene(500, 1, 4);
    const big = upsampleSplats(scene, 4001, 0);
    expect(big.count).toBe(4001);
    expect(big.shDegree).toBe(0);
    expect([...big.columns.keys()].some((n) => n.startsWith("f_rest_"))).toBe(false);
    const k = Math.ceil(4001 / 500);
    // child 17 belongs to parent 2: same colour and opacity, smaller, near it (within 4 of its own spreads)
    const o = 17, i = Math.floor(o / k);
    for (const n of ["f_dc_0", "opacity", "rot_0"]) expect(big.columns.get(n)![o]).toBe(scene.columns.get(n)![i]);
    expect(big.columns.get("scale_0")![o]).toBeCloseTo(scene.columns.get("scale_0")![i]! - Math.log(k) / 3, 5);
    const spread = Math.max(...[0, 1, 2].map((a) => Math.exp(scene.columns.get(`scale_${a}`)![i]!)));
    const dist = Math.hypot(...["x", "y", "z"].map((c) => big.columns.get(c)![o]! - scene.columns.get(c)![i]!));
    expect(dist).toBeLessThan(4 * spread);
    expect(() => upsampleSplats(scene, 10)).toThrow(/at least the scene's 500/);
    expect(() => upsampleSplats(scene, 1000, 3)).toThrow(/SH degree 1, not 3/);
  });
});
