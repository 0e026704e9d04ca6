import { hours, image, minutes, processingStage } from "../pipeline/index.js";
import { gaussianSplatting } from "./gaussian-splatting.js";

/** Stage 3: trained splats → SOG + web viewer + preview (images/compressor). */
export const compressor = processingStage({
  name: "compressor",
  description: "Clean-up, SOG compression with an SH palette, viewer page, preview image",
  image: image("images/compressor"),
  instance: { type: "ml.c6i.4xlarge", count: 1, volumeSizeGb: 50 },
  timeout: hours(1),
  expectedDuration: minutes(15),
  inputs: { model: gaussianSplatting.output("model") },
  // Also run on the early model as soon as it appears: the preview at the same links.
  earlyInputs: { model: gaussianSplatting.earlyOutput("model") },
  outputs: ["delivery"],
  // What a finished job's status and email link to (images/compressor writes them).
  links: { viewer: "index.html", scene: "scene.sog", preview: "preview.webp", thumbnail: "thumbnail.jpg", report: "report.json" },
  label: "Compression and viewer",
});
