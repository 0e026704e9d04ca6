// The delivery's facts line and thumbnail, without a full compressor run.
import { describe, expect, test } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { factsLine, readHeldOut, withFactsLine, writeThumbnail, THUMBNAIL_MAX_BYTES } from "../src/buyer-facts.js";
import { pythonExecutable, runProcess } from "../src/kmeans.js";
import { linkLifetimeFromEnv } from "../src/link-lifetime.js";

const badge = (scale: string) => `<body>\n        <div id="spaceport-title" style="x">My site${scale}</div>\n<canvas></canvas>`;

describe("what the delivery says to its buyer", () => {
  test("the facts line goes inside the title badge, under the scale line when there is one", () => {
    const withScale = withFactsLine(badge('<div id="spaceport-scale" style="y">Scale: metres</div>'), "Quality: <fair>");
    expect(withScale).toContain('Scale: metres</div><div id="spaceport-facts" style="font:400 13px/1.3 system-ui,sans-serif">Quality: &#60;fair&#62;</div></div>');
    expect(withFactsLine(badge(""), "x")).toContain('My site<div id="spaceport-facts"');
    expect(() => withFactsLine("<body></body>", "x")).toThrow(/no title badge/);
  });

  test("the line: quality in words, coordinates, size; says so when quality was not measured", () => {
    const place = { lat: 1, lon: 2, words: "1.00000° N, 2.00000° E" };
    expect(factsLine({ quality: null, place, sceneBytes: 3 * 1024 ** 2 })).toBe("Quality: not measured (no held-out photos) · 1.00000° N, 2.00000° E · scene 3.0 MB");
    expect(factsLine({ quality: { grade: "blurry", psnrDb: 17, words: "blurry (17.0 dB PSNR on 3 held-out photos)", views: 3 }, place: null, sceneBytes: 2048 }))
      .toBe("Quality: blurry (17.0 dB PSNR on 3 held-out photos) · scene 2 KB");
  });

  test("the page says how long the links work; the place is left to the measuring tool where it shows it", () => {
    const place = { lat: 1, lon: 2, words: "1.00000° N, 2.00000° E" };
    const facts = { quality: null, place, sceneBytes: 2048 };
    expect(factsLine(facts, { place: false, linkLifetime: { days: 90 } })).toBe("Quality: not measured (no held-out photos) · scene 2 KB · The links work for 90 days.");
    expect(factsLine(facts, { linkLifetime: { whileServed: true } })).toContain("· 1.00000° N, 2.00000° E · scene 2 KB · The links work while this machine serves them");
    expect(linkLifetimeFromEnv({ SPACEPORT_LINK_DAYS: "90" })).toEqual({ days: 90 });
    expect(linkLifetimeFromEnv({ SPACEPORT_LINK_DAYS: "90", SPACEPORT_LINKS_WHILE_SERVED: "1" })).toEqual({ whileServed: true });
    expect(linkLifetimeFromEnv({})).toBeNull();
    expect(() => linkLifetimeFromEnv({ SPACEPORT_LINK_DAYS: "0.5" })).toThrow("SPACEPORT_LINK_DAYS=0.5 must be a whole number of days, at least 1.");
  });

  test("held-out figures from metrics.json; a missing or damaged file gives none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "facts-"));
    try {
      writeFileSync(join(dir, "m.json"), JSON.stringify({ psnr: 19.5, ssim: 0.6, images: { held_out: 4 } }));
      expect(await readHeldOut(join(dir, "m.json"))).toMatchObject({ grade: "blurry", views: 4, ssim: 0.6 });
      writeFileSync(join(dir, "bad.json"), "{");
      expect(await readHeldOut(join(dir, "bad.json"))).toBeNull();
      writeFileSync(join(dir, "nan.json"), JSON.stringify({ psnr: null }));
      expect(await readHeldOut(join(dir, "nan.json"))).toBeNull();
      expect(await readHeldOut(null)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("thumbnail.jpg: 480 px wide JPEG under the email limit, from a large busy preview", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thumb-"));
    try {
      expect(await writeThumbnail(dir)).toEqual({ written: false, reason: "no preview image to make it from" });
      // noise is the worst case for JPEG size
      await runProcess(pythonExecutable(), ["-c", "import numpy as np, sys; from PIL import Image; Image.fromarray(np.random.default_rng(0).integers(0, 255, (675, 1200, 3), dtype=np.uint8)).save(sys.argv[1], 'WEBP', quality=90)", join(dir, "preview.webp")]);
      const t = await writeThumbnail(dir);
      expect(t).toMatchObject({ written: true, width: 480, height: 270 });
      const bytes = readFileSync(join(dir, "thumbnail.jpg"));
      expect(bytes.byteLength).toBeLessThanOrEqual(THUMBNAIL_MAX_BYTES);
      expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
