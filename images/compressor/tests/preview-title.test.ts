// The pipeline's early run (SPACEPORT_PREVIEW=1) delivers a preview: its page and report say so
// through the title; the final run's title is the plain one.
import { configFromEnv, PREVIEW_TITLE } from "../src/compress.js";

describe("compressor: an early run is marked as a preview", () => {
  const progress = () => undefined;
  it("prefixes the title on the preview run only", () => {
    expect(configFromEnv({ COMPRESS_TITLE: "Caliterra" }, "/tmp/ml", progress).title).toBe("Caliterra");
    expect(configFromEnv({ COMPRESS_TITLE: "Caliterra", SPACEPORT_PREVIEW: "1" }, "/tmp/ml", progress).title).toBe(`${PREVIEW_TITLE}Caliterra`);
    expect(PREVIEW_TITLE).toMatch(/^Preview/);
  });
});
