import { hours, image, jobInput, minutes, processingStage } from "../pipeline/index.js";

/** Stage 1: photos ZIP → georeferenced, undistorted COLMAP model (images/sfm). */
export const sfm = processingStage({
  name: "sfm",
  description: "Structure from motion: safe ZIP ingestion, SIFT, GPS-aware matching, mapping, ENU alignment, undistortion",
  image: image("images/sfm"),
  instance: { type: "ml.c6i.2xlarge", count: 1, volumeSizeGb: 100 },
  timeout: hours(2),
  expectedDuration: minutes(30),
  inputs: { photos: jobInput() },
  outputs: ["sfm"],
  label: "Photo alignment (structure from motion)",
  failureAdvice: "Check the ZIP: JPEG photos of one site, taken with plenty of overlap (at least 70% forward and 60% side), then submit it again.",
});
