import { definePipeline } from "../pipeline/index.js";
import { compressor } from "./compressor.js";
import { gaussianSplatting } from "./gaussian-splatting.js";
import { sfm } from "./sfm.js";

/** Spaceport's pipeline: drone photos in, a compressed splat and its viewer out. */
export const spaceport = definePipeline({
  name: "spaceport-ml",
  stages: [sfm, gaussianSplatting, compressor],
  delivery: compressor.output("delivery"),
});

export { sfm, gaussianSplatting, compressor };
export { quality } from "./gaussian-splatting.js";
