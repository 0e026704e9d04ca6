// Large scenes: above COMPRESS_LOD_THRESHOLD the compressor also delivers splat-transform's
// streamed LOD bundle, checked complete; the page streams it with a budget per device class.
// A small threshold makes a 12k-Gaussian scene "large" here.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromiumPath, openPage, serveDir } from "../src/browser.js";
import { verifyLodBundle } from "../src/lod-bundle.js";
import { encodePly } from "../src/ply.js";
import { syntheticCameras, syntheticScene } from "../src/synthetic.js";
import { listFiles, makeJob, runCompressor, type Job } from "./helpers.js";
import { MeasureSession } from "./measure-session.js";

const N = 12000;
const FAST = { COMPRESS_FIDELITY: "0", COMPRESS_SPZ: "0", COMPRESS_PREVIEW: "0", COMPRESS_SH_ITERATIONS: "3", COMPRESS_REMOVE_FLOATERS: "0" };
let big: Job, small: Job;
let bigRun: { code: number; stderr: string }, smallRun: { code: number; stderr: string };
let bigReport: any, smallReport: any;

function stageInput(job: Job): void {
  const scene = syntheticScene(N, 1, 11);
  writeFileSync(join(job.input, "point_cloud.ply"), encodePly(scene.columns));
  writeFileSync(join(job.input, "cameras.json"), JSON.stringify(syntheticCameras()));
  writeFileSync(join(job.input, "upstream.json"), JSON.stringify({ reports: [{ stage: "sfm", georeference: { frame: "enu", metric: true, rms_m: 0.1, extent_m: 40 }, gps: { origin: { lat: 38.29471, lon: -122.45812, alt: 30 } } }] }));
}

beforeAll(async () => {
  big = makeJob("lod-big");
  small = makeJob("lod-small");
  stageInput(big);
  stageInput(small);
  // 4k Gaussians per chunk: level 0 needs several chunks
  bigRun = await runCompressor(big, { ...FAST, COMPRESS_LOD_THRESHOLD: "5000", COMPRESS_LOD_CHUNK_COUNT: "4", SPACEPORT_LINK_DAYS: "30" });
  if (bigRun.code === 0) bigReport = JSON.parse(readFileSync(join(big.delivery, "report.json"), "utf8"));
  smallRun = await runCompressor(small, { ...FAST, COMPRESS_LOD_THRESHOLD: String(N), SPACEPORT_LINKS_WHILE_SERVED: "1", SPACEPORT_LINK_DAYS: "30" });
  if (smallRun.code === 0) smallReport = JSON.parse(readFileSync(join(small.delivery, "report.json"), "utf8"));
}, 240_000);

afterAll(() => {
  for (const job of [big, small]) if (job && !process.env.KEEP_TEST_OUTPUT) rmSync(job.root, { recursive: true, force: true });
});

const bootstrapContent = (dir: string): string => {
  const html = readFileSync(join(dir, "index.html"), "utf8");
  return JSON.parse(/<script type="application\/json" id="sse-bootstrap">([\s\S]*?)<\/script>/.exec(html)![1]!).contentUrl;
};

describe("the streamed LOD bundle", () => {
  test("above the threshold: lod/ with its levels beside scene.sog, and the report says streamed", async () => {
    expect({ code: bigRun.code, stderr: bigRun.code ? bigRun.stderr.slice(-1500) : "" }).toEqual({ code: 0, stderr: "" });
    const files = listFiles(big.delivery);
    expect(files["scene.sog"]).toBeGreaterThan(0);
    expect(files["lod/lod-meta.json"]).toBeGreaterThan(0);
    expect(Object.keys(files).some((f) => f.startsWith("lod.partial"))).toBe(false);
    const d = bigReport.delivery;
    expect(d).toMatchObject({ form: "streamed", singleFile: "scene.sog", streamed: { index: "lod/lod-meta.json", levels: 3, counts: [N, 3000, 750], chunkCount: 4 } });
    expect(d.streamed.metaCounts).toEqual(d.streamed.counts);
    expect(d.streamed.chunks).toBeGreaterThan(3);
    expect(bigReport.viewer.content).toBe("lod/lod-meta.json");
    expect(bootstrapContent(big.delivery)).toBe("./lod/lod-meta.json");
    // every chunk lod-meta.json lists is there, and nothing else is in the bundle
    const meta = JSON.parse(readFileSync(join(big.delivery, "lod", "lod-meta.json"), "utf8"));
    for (const f of meta.filenames as string[]) expect(files[join("lod", f)]).toBeGreaterThan(0);
    const bundle = await verifyLodBundle(join(big.delivery, "lod"));
    expect(bundle.files).toBe(Object.keys(files).filter((f) => f.startsWith("lod/")).length);
  });

  test("not above it: no bundle, the page loads scene.sog, and the report says single-file", () => {
    expect({ code: smallRun.code, stderr: smallRun.code ? smallRun.stderr.slice(-1500) : "" }).toEqual({ code: 0, stderr: "" });
    expect(existsSync(join(small.delivery, "lod"))).toBe(false);
    expect(smallReport.delivery).toMatchObject({ form: "single-file", streamed: null });
    expect(smallReport.delivery.reason).toContain(`not above the LOD threshold of ${N}`);
    expect(bootstrapContent(small.delivery)).toBe("./scene.sog");
    expect(readFileSync(join(small.delivery, "index.html"), "utf8")).not.toContain("spaceport-lod");
  });

  test("a partial bundle never passes as complete: a missing texture, a missing chunk, a cut index", async () => {
    const copy = join(big.root, "lod-copy");
    const fresh = (): string => { rmSync(copy, { recursive: true, force: true }); cpSync(join(big.delivery, "lod"), copy, { recursive: true }); return copy; };
    const meta = JSON.parse(readFileSync(join(big.delivery, "lod", "lod-meta.json"), "utf8"));
    const last = meta.filenames[meta.filenames.length - 1] as string;
    const lastDir = last.split("/")[0]!;
    unlinkSync(join(fresh(), lastDir, "sh0.webp"));
    await expect(verifyLodBundle(copy)).rejects.toThrow(`incomplete LOD bundle: ${lastDir}/sh0.webp is missing`);
    rmSync(join(fresh(), lastDir), { recursive: true });
    await expect(verifyLodBundle(copy)).rejects.toThrow(`incomplete LOD bundle: ${last} is missing`);
    truncateSync(join(fresh(), "lod-meta.json"), 100);
    await expect(verifyLodBundle(copy)).rejects.toThrow(/incomplete LOD bundle: lod-meta\.json is not JSON/);
    writeFileSync(join(fresh(), lastDir, "means_l.webp"), "");
    await expect(verifyLodBundle(copy)).rejects.toThrow(`incomplete LOD bundle: ${lastDir}/means_l.webp is empty`);
  });

  test("options are checked by name", async () => {
    const job = makeJob("lod-options");
    try {
      mkdirSync(job.input, { recursive: true });
      const r = await runCompressor(job, { COMPRESS_LOD_RATIO: "1.5" });
      expect(r.code).toBe(1);
      expect(readFileSync(join(job.optMl, "output", "failure"), "utf8")).toBe("Option COMPRESS_LOD_RATIO=1.5 must be between 0 and 1.");
    } finally {
      rmSync(job.root, { recursive: true, force: true });
    }
  });
});

const browserTest = chromiumPath() ? test : test.skip;

/** Opens the delivery's page and waits for the viewer's first frame; what the page chose, its LOD responses and console errors. */
async function openDelivery(dir: string, device: { width: number; height: number; mobile?: boolean }, query = "", fetched: string[] = []) {
  const server = await serveDir(dir);
  const page = await openPage(device);
  try {
    const lodResponses: { path: string; status: number; type: string | undefined }[] = [];
    page.page.on("response", (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith("/lod/")) lodResponses.push({ path, status: r.status(), type: r.headers()["content-type"] });
    });
    await page.page.goto(`${server.url}index.html${query}`);
    await page.page.waitForFunction(() => (window as unknown as { __firstFrame?: number }).__firstFrame !== undefined, undefined, { timeout: 90_000, polling: 100 });
    await page.page.waitForFunction(() => (window as unknown as { spaceportMeasure?: unknown }).spaceportMeasure !== undefined, undefined, { timeout: 30_000 });
    // the first frame shows the coarsest level; detail streams in after it
    for (const until = Date.now() + 60_000; Date.now() < until && !fetched.every((f) => lodResponses.some((x) => x.path === f));) await page.page.waitForTimeout(250);
    const chose = await page.page.evaluate(() => ({
      lod: (window as unknown as { spaceportLod?: unknown }).spaceportLod,
      budget: (window as unknown as { app?: { scene: { gsplat: { splatBudget: number } } } }).app?.scene.gsplat.splatBudget,
      facts: document.getElementById("spaceport-facts")?.textContent ?? "",
      line: document.getElementById("spaceport-lod")?.textContent ?? "",
      site: document.getElementById("spaceport-site")?.textContent ?? "",
    }));
    return { chose, lodResponses, consoleErrors: [...page.consoleErrors] };
  } finally {
    await page.close();
    await server.close();
  }
}

describe("the streamed page in headless Chromium", () => {
  browserTest("desktop: streams the bundle at the desktop budget, every chunk typed, no console error", async () => {
    const meta = JSON.parse(readFileSync(join(big.delivery, "lod", "lod-meta.json"), "utf8"));
    const level0 = (meta.filenames as string[]).filter((f) => f.startsWith("0_")).map((f) => `/lod/${f}`);
    const r = await openDelivery(big.delivery, { width: 1280, height: 720 }, "", level0);
    expect(r.consoleErrors).toEqual([]);
    expect(r.chose.lod).toEqual({ deviceClass: "desktop", streamed: true, budget: 4_000_000, content: "./lod/lod-meta.json" });
    expect(r.chose.budget).toBe(4_000_000);
    expect(r.chose.line).toBe("Large scene: streamed in levels of detail, up to 4 M splats on this desktop · open as one file");
    const types = Object.fromEntries(r.lodResponses.map((x) => [x.path.split(".").pop(), x.type]));
    expect(types).toEqual({ json: "application/json", webp: "image/webp" });
    expect(r.lodResponses.every((x) => x.status === 200)).toBe(true);
    // the budget covers the whole scene: after the coarse first frame every level-0 chunk is fetched
    expect(level0.length).toBeGreaterThan(1);
    for (const f of level0) expect(r.lodResponses.map((x) => x.path)).toContain(f);
    // the page fixes: how long the link lasts, and the coordinates once (the tool's Site label)
    expect(r.chose.facts).toContain("The links work for 30 days.");
    expect(r.chose.facts).not.toContain("38.29471");
    expect(r.chose.site).toBe("Site 38.29471° N, 122.45812° W");
  }, 150_000);

  browserTest("phone-sized touch screen: the phone budget; the one-file link loads scene.sog", async () => {
    const phone = { width: 390, height: 844, mobile: true };
    const r = await openDelivery(big.delivery, phone);
    expect(r.consoleErrors).toEqual([]);
    expect(r.chose.lod).toMatchObject({ deviceClass: "phone", streamed: true, budget: 1_000_000 });
    expect(r.lodResponses.length).toBeGreaterThan(5);
    const single = await openDelivery(big.delivery, phone, "?content=./scene.sog");
    expect(single.consoleErrors).toEqual([]);
    expect(single.chose.lod).toMatchObject({ streamed: false, budget: null });
    expect(single.lodResponses).toEqual([]);
    expect(single.chose.line).toBe("Large scene, as one file · stream it");
  }, 200_000);

  browserTest("the measuring tool picks the streamed splats: 10 m across the ground", async () => {
    const s = await MeasureSession.open(big.delivery, { width: 1280, height: 720 });
    try {
      expect(await s.page.evaluate(() => (window as unknown as { spaceportLod: { streamed: boolean } }).spaceportLod.streamed)).toBe(true);
      await s.button("Distance");
      // open ground of the generated scene (its boxes stand elsewhere), z = 0
      const a = await s.pickAt([-15, 12, 0]), b = await s.pickAt([-5, 12, 0]);
      const d = (await s.result()).distanceM!;
      console.log(`streamed page: ${d.toFixed(3)} m between ground points 10 m apart; picks at ${a.map((v) => v.toFixed(2))} and ${b.map((v) => v.toFixed(2))}`);
      expect(Math.abs(d - 10)).toBeLessThan(0.5);
      expect(s.consoleErrors).toEqual([]);
    } finally {
      await s.close();
    }
  }, 150_000);

  browserTest("the single-file page of a small scene: while served, coordinates once", async () => {
    const r = await openDelivery(small.delivery, { width: 960, height: 540 });
    expect(r.consoleErrors).toEqual([]);
    expect(r.chose.lod).toBeUndefined();
    expect(r.chose.facts).toContain("The links work while this machine serves them");
    expect(r.chose.facts).not.toContain("38.29471");
    expect(r.chose.site).toBe("Site 38.29471° N, 122.45812° W");
  }, 150_000);
});
