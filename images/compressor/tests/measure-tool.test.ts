// The measuring tool's arithmetic and how it is put on the page (the browser test,
// measure.test.ts, measures the generated survey through the viewer itself).
import { describe, expect, test } from "@jest/globals";
import { measureConfig, measureScript, withMeasureTool } from "../src/measure-page.js";
import {
  FOOT_M, distance, formatArea, formatLatLon, formatLength, groundArea, groundPerimeter, heightDifference, metresPerPixel,
  scaleBar, screenAngleDeg, viewerToEnu, enuToViewerXyz, type Enu,
} from "../src/page/measure-math.js";
import { readout } from "../src/page/measure-ui.js";
import { readUpstream } from "../src/upstream.js";
import { enuToViewer } from "../src/viewer.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("measurements in the model's ENU frame", () => {
  test("distance, height difference and horizontal distance of two points", () => {
    const a: Enu = [1, 2, 0.5], b: Enu = [4, 6, 2.5];
    expect(distance(a, b)).toBeCloseTo(Math.sqrt(9 + 16 + 4), 12);
    expect(heightDifference(a, b)).toBeCloseTo(2, 12);
    expect(heightDifference(b, a)).toBeCloseTo(-2, 12);
    const r = readout("distance", [a, b]);
    expect(r.horizontalM).toBeCloseTo(5, 12);
    expect(readout("distance", [a]).distanceM).toBeNull();
  });

  test("ground area is the footprint's, whatever the points' heights and winding", () => {
    const house: Enu[] = [[-5, -3.5, 0], [5, -3.5, 0.3], [5, 3.5, 5], [-5, 3.5, 0]];
    expect(groundArea(house)).toBeCloseTo(70, 12);
    expect(groundArea([...house].reverse())).toBeCloseTo(70, 12);
    expect(groundPerimeter(house)).toBeCloseTo(34, 12);
    // an L shape: concave polygons too
    expect(groundArea([[0, 0, 0], [4, 0, 0], [4, 1, 0], [1, 1, 0], [1, 3, 0], [0, 3, 0]])).toBeCloseTo(6, 12);
    expect(groundArea(house.slice(0, 2))).toBe(0);
    expect(readout("area", house.slice(0, 2)).areaM2).toBeNull();
  });

  test("metres, feet, and no unit when the model is not to scale", () => {
    expect(formatLength(10, "m")).toBe("10.00 m");
    expect(formatLength(FOOT_M * 33, "ft")).toBe("33.00 ft");
    expect(formatLength(123.456, "m")).toBe("123.5 m");
    expect(formatLength(2.5, null)).toBe("2.50");
    expect(formatArea(70, "m")).toBe("70.00 m²");
    expect(formatArea(70, "ft")).toBe(`${(70 / FOOT_M ** 2).toFixed(1)} ft²`);
    expect(formatArea(70, null)).toBe("70.00");
  });

  test("the scale bar is a round length that fits", () => {
    expect(scaleBar(0.05, 120, "m")).toEqual({ px: 100, label: "5 m" }); // 120 px = 6 m
    expect(scaleBar(0.5, 120, "m")).toEqual({ px: 100, label: "50 m" });
    expect(scaleBar(0.01, 120, "m")!.label).toBe("1 m");
    expect(scaleBar(0.001, 120, "m")!.label).toBe("0.1 m");
    const ft = scaleBar(0.05, 120, "ft")!; // 120 px = 19.7 ft
    expect(ft.label).toBe("10 ft");
    expect(ft.px).toBeCloseTo((10 * FOOT_M) / 0.05, 9);
    expect(scaleBar(0, 120, "m")).toBeNull();
    expect(metresPerPixel(10, 90, 500)).toBeCloseTo(20 / 500, 12);
  });

  test("the north arrow's angle on screen, clockwise from up", () => {
    expect(screenAngleDeg({ x: 0, y: 0 }, { x: 0, y: -1 })).toBeCloseTo(0, 9);
    expect(screenAngleDeg({ x: 0, y: 0 }, { x: 1, y: 0 })).toBeCloseTo(90, 9);
    expect(screenAngleDeg({ x: 0, y: 0 }, { x: -1, y: 0 })).toBeCloseTo(270, 9);
    expect(screenAngleDeg({ x: 3, y: 3 }, { x: 3, y: 3 })).toBeNull();
  });

  test("the viewer's frame and ENU convert both ways, as the page's camera does", () => {
    const p: Enu = [1.5, -2, 3];
    expect(enuToViewerXyz(p)).toEqual(enuToViewer([...p]));
    expect(viewerToEnu(...enuToViewerXyz(p))).toEqual(p);
    expect(formatLatLon(45.5231, -122.6765)).toBe("45.52310° N, 122.67650° W");
  });
});

describe("the tool on the page", () => {
  const metric = { frame: "enu", metric: true, rms_m: 0.03, extent_m: 70, origin: { lat: 45.5, lon: -122.6 } };

  test("the site's latitude/longitude come from SfM's GPS fit; a bad or missing origin gives none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "spaceport-measure-origin-"));
    try {
      const report = (gps: unknown): string => JSON.stringify({ reports: [{ stage: "sfm", georeference: { frame: "enu", metric: true, rms_m: 0.03, extent_m: 70 }, gps }] });
      writeFileSync(join(dir, "up.json"), report({ origin: { lat: 45.52303, lon: -122.67651, alt: 60 } }));
      expect((await readUpstream(join(dir, "up.json"), null)).georeference?.origin).toEqual({ lat: 45.52303, lon: -122.67651 });
      for (const bad of [null, { origin: { lat: 95, lon: 0 } }, { origin: { lat: "45", lon: 1 } }]) {
        writeFileSync(join(dir, "up.json"), report(bad));
        expect((await readUpstream(join(dir, "up.json"), null)).georeference).not.toHaveProperty("origin");
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("units and north only where the georeference allows them", () => {
    expect(measureConfig(metric)).toEqual({ metric: true, northKnown: true, site: { lat: 45.5, lon: -122.6 }, relativeReason: null });
    const poor = measureConfig({ ...metric, metric: false });
    expect(poor).toMatchObject({ metric: false, northKnown: true });
    expect(poor.relativeReason).toMatch(/not reliably to scale; no units/);
    const none = measureConfig({ frame: "arbitrary", metric: false, rms_m: null, extent_m: null });
    expect(none).toMatchObject({ metric: false, northKnown: false, site: null });
    expect(none.relativeReason).toMatch(/no GPS frame.*no units/);
    expect(measureConfig(null).metric).toBe(false);
  });

  test("the page hands the viewer's handle to measure.js; a page without that call is refused", async () => {
    const page = `<head></head><body><script type="module">import { createViewer } from './index.js';\n createViewer({ container: document.body, settings, ...options });</script></body>`;
    const html = withMeasureTool(page, measureConfig(metric));
    expect(html).toContain("const viewer = await createViewer(");
    expect(html).toContain("import('./measure.js')");
    expect(html).toMatch(/<script type="application\/json" id="spaceport-measure">\{"metric":true/);
    expect(() => withMeasureTool("<head></head><body></body>", measureConfig(metric))).toThrow(/no createViewer call/);
    const js = Buffer.from(await measureScript()).toString("utf8");
    expect(js).toMatch(/export\s*\{[^}]*attachMeasure/);
    expect(js).not.toMatch(/^import /m); // one self-contained module
  });
});
