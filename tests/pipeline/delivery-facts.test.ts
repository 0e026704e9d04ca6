import { describe, expect, it } from "@jest/globals";
import { coordinatesWords, deliveryFacts, linkLifetimeWords, placeOf } from "../../pipeline/delivery-facts.js";
import { BLURRY_ABOVE_BLUR, BLURRY_BELOW_DB, SHARP_FROM_DB, SHARP_UP_TO_BLUR, gradeOf, heldOutQuality } from "../../pipeline/held-out-quality.js";

describe("held-out quality in words", () => {
  it("grades at the thresholds: blurry below 20 dB, fair up to 25, sharp from 25", () => {
    expect([BLURRY_BELOW_DB, SHARP_FROM_DB]).toEqual([20, 25]);
    expect(gradeOf(19.99)).toBe("blurry");
    expect(gradeOf(20)).toBe("fair");
    expect(gradeOf(24.99)).toBe("fair");
    expect(gradeOf(25)).toBe("sharp");
  });

  it("says the figure and how many photos it was measured on; no figure, no words", () => {
    expect(heldOutQuality(27.44, 0.9, 9)?.words).toBe("sharp (27.4 dB PSNR on 9 held-out photos)");
    expect(heldOutQuality(14.2, undefined, 1)).toEqual({ grade: "blurry", psnrDb: 14.2, words: "blurry (14.2 dB PSNR on 1 held-out photo)" });
    expect(heldOutQuality(21)?.words).toBe("fair (21.0 dB PSNR on held-out photos)");
    for (const bad of [null, undefined, Number.NaN, Infinity, "25"]) expect(heldOutQuality(bad)).toBeNull();
  });

  it("the equivalent blur lowers the grade, never raises it, and is named only when it lowers it", () => {
    expect([SHARP_UP_TO_BLUR, BLURRY_ABOVE_BLUR]).toEqual([0.025, 0.05]);
    expect(gradeOf(26.4, 0.16)).toBe("blurry"); // the smooth model of a low-contrast site
    expect(gradeOf(26.4, 0.04)).toBe("fair");
    expect(gradeOf(26.4, 0.025)).toBe("sharp");
    expect(gradeOf(18, 0.001)).toBe("blurry"); // a sharp blur figure does not lift a low PSNR
    expect(heldOutQuality(26.44, 0.89, 8, 0.16)).toEqual({
      grade: "blurry", psnrDb: 26.44, ssim: 0.89, blur: 0.16,
      words: "blurry (26.4 dB PSNR on 8 held-out photos, but matched only by the photos blurred over 16% of their width)",
    });
    expect(heldOutQuality(26, undefined, 2, 0.25)?.words).toBe("blurry (26.0 dB PSNR on 2 held-out photos, but matched only by the photos blurred over a quarter or more of their width)");
    expect(heldOutQuality(27.8, 0.8, 2, 0.0024)?.words).toBe("sharp (27.8 dB PSNR on 2 held-out photos)");
    expect(heldOutQuality(22, undefined, 3, 0.001)?.words).toBe("fair (22.0 dB PSNR on 3 held-out photos)");
    for (const bad of [null, "0.2", Number.NaN, -1, Infinity]) expect(heldOutQuality(27, undefined, 1, bad)).toEqual({ grade: "sharp", psnrDb: 27, words: "sharp (27.0 dB PSNR on 1 held-out photo)" });
  });
});

describe("delivery facts", () => {
  it("coordinates with hemispheres, 5 decimals", () => {
    expect(coordinatesWords(51.500741, -0.124251)).toBe("51.50074° N, 0.12425° W");
    expect(coordinatesWords(-33.86882, 151.20929)).toBe("33.86882° S, 151.20929° E");
  });

  it("a place only from a well-formed origin inside the globe", () => {
    expect(placeOf({ origin: { lat: 10, lon: 20 } })?.words).toBe("10.00000° N, 20.00000° E");
    for (const g of [null, {}, { origin: { lat: 91, lon: 0 } }, { origin: { lat: 10, lon: "20" } }, { origin: { lat: Number.NaN, lon: 0 } }]) expect(placeOf(g)).toBeUndefined();
  });

  it("reads quality, place and size from a delivery report, and nothing from a damaged one", () => {
    const facts = deliveryFacts({ output: { sogBytes: 2_500_000 }, quality: { psnrDb: 18, views: 3 }, georeference: { origin: { lat: 1, lon: 2 } } });
    expect(facts.quality?.grade).toBe("blurry");
    expect(deliveryFacts({ quality: { psnrDb: 26.4, views: 8, blur: 0.16 } }).quality?.grade).toBe("blurry");
    expect(facts.place?.lat).toBe(1);
    expect(facts.sceneSize).toBe("2.4 MB");
    expect(deliveryFacts({ delivery: { form: "streamed" } }).form).toBe("streamed");
    expect(deliveryFacts({ delivery: { form: "single-file" } }).form).toBe("single-file");
    expect(deliveryFacts({ delivery: { form: "zip" } })).toEqual({});
    expect(deliveryFacts("not a report")).toEqual({});
    expect(deliveryFacts({ output: { sogBytes: -1 }, quality: "sharp" })).toEqual({});
  });

  it("says how long the links last: the stack's expiry, or while served locally", () => {
    expect(linkLifetimeWords({ days: 90 })).toBe("The links work for 90 days.");
    expect(linkLifetimeWords({ days: 1 })).toBe("The links work for 1 day.");
    expect(linkLifetimeWords({ whileServed: true })).toMatch(/while this machine serves them/);
  });
});
