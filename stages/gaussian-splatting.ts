import { hours, image, jobOption, trainingStage } from "../pipeline/index.js";
import { sfm } from "./sfm.js";

/** Chosen per job by the submitter; the trainer expands it into steps, resolution and caps. */
export const quality = jobOption({
  name: "quality",
  values: ["preview", "standard", "high"],
  default: "standard",
  description: "Training preset: preview (fast, CPU-friendly), standard, high (more steps and Gaussians)",
});

/** Stage 2: COLMAP model → 3D Gaussians (images/gaussian-splatting), gsplat on a T4. */
export const gaussianSplatting = trainingStage({
  name: "gaussian-splatting",
  description: "3D Gaussian splatting training with gsplat on CUDA",
  image: image("images/gaussian-splatting"),
  instance: { type: "ml.g4dn.xlarge", count: 1, volumeSizeGb: 50 },
  timeout: hours(6),
  expectedDuration: hours(2),
  spot: { maxWait: hours(8) },
  inputs: { sfm: sfm.output("sfm") },
  hyperparameters: { quality, checkpoint_every: 1000 },
  // The trainer's log lines (gs_trainer/train.py), as CloudWatch metrics.
  metrics: [
    { name: "train:loss", regex: "loss=([0-9.eE+-]+)" },
    // anchored on "loss=" so the held-out lines ("eval step=... held_out_psnr=...") stay apart
    { name: "train:psnr", regex: "loss=[0-9.eE+-]+ psnr=([0-9.]+)" },
    { name: "held_out:psnr", regex: "held_out_psnr=([0-9.]+)" },
  ],
  label: "3D model training (Gaussian splatting)",
  failureAdvice: 'Submit it again; if it fails the same way, try quality "preview" or reply with the job id.',
});
