import { byOption, hours, image, jobOption, minutes, trainingStage } from "../pipeline/index.js";
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
  // Per preset, on one T4, start-up and data download (~5 min) included. Derived, not measured on
  // a T4: gsplat's default strategy takes 19.4 min for 30,000 steps at full resolution on an A100
  // (Mip-NeRF360), a T4 is about a quarter of an A100; standard is 7,000 steps at half
  // resolution, preview 1,000 steps at a quarter.
  expectedDuration: byOption(quality, { preview: minutes(10), standard: minutes(30), high: minutes(90) }),
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
  // A first link early: the trainer writes the model at its preset's `early_model_at` (a tenth of
  // the steps for standard and high; preview's is 0, off) into the early folder, and the
  // compressor delivers it as a preview while training goes on.
  earlyOutputs: { model: { description: "the model after a tenth of the steps", when: { quality: ["standard", "high"] } } },
  label: "3D model training (Gaussian splatting)",
  failureAdvice: 'Submit it again; if it fails the same way, try quality "preview" or reply with the job id.',
});
