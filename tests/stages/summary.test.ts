import { describe, expect, it } from "@jest/globals";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spaceportSummary } from "../../stages/summary.js";

describe("run summary of a finished job", () => {
  it("says the held-out quality in words, the site's coordinates, the size and that local links last while served", () => {
    const root = mkdtempSync(join(tmpdir(), "summary-"));
    try {
      const job = join(root, "job"), sm = join(root, "sm");
      mkdirSync(join(job, "sfm"), { recursive: true });
      mkdirSync(join(job, "delivery"), { recursive: true });
      mkdirSync(join(sm, "opt", "ml", "model"), { recursive: true });
      writeFileSync(join(job, "sfm", "report.json"), JSON.stringify({ photos_placed: 70, photos_received: 75 }));
      writeFileSync(join(sm, "opt", "ml", "model", "metrics.json"), JSON.stringify({ psnr: 23.456, ssim: 0.8123, steps: 7000, gaussians: 123456, images: { held_out: 9 } }));
      writeFileSync(join(job, "delivery", "report.json"), JSON.stringify({ output: { sogBytes: 5 * 1024 ** 2, compressionRatio: 14.2 }, georeference: { origin: { lat: 48.85837, lon: 2.29448 } } }));
      expect(spaceportSummary(job, [sm])).toEqual([
        "photos used:    70 of 75 placed",
        "held-out:       fair (23.5 dB PSNR on 9 held-out photos), SSIM 0.812 (7000 steps)",
        "Gaussians:      123,456",
        "site:           48.85837° N, 2.29448° E",
        "SOG:            5.0 MB (14.2x smaller than the PLY)",
        "links:          The links work while this machine serves them (a local run: nothing expires them).",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
