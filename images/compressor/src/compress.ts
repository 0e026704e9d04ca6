// The compressor stage: training output in, SOG delivery with a viewer, preview and report out.
import { writeSpz } from "@playcanvas/splat-transform";
import { MemoryFileSystem } from "@playcanvas/splat-transform";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { captureViewer, chromiumPath } from "./browser.js";
import { cleanSplats, type CleanOptions } from "./clean.js";
import { DELIVERY_FILES } from "./delivery-files.js";
import { CompressorError } from "./errors.js";
import { attributeErrors, renderFidelity } from "./fidelity.js";
import { locateInput } from "./input.js";
import { parsePly } from "./ply.js";
import { encodeSog, readSogEnu, toPlySpace } from "./sog.js";
import type { CameraJson } from "./synthetic.js";
import { firstView } from "./firstview.js";
import { addFactsToPage, buyerFacts, writeThumbnail } from "./buyer-facts.js";
import { readUpstream, scaleNotice } from "./upstream.js";
import { viewerSettings, writeViewer } from "./viewer.js";
import { measureConfig } from "./measure-page.js";
import { LOD_DEFAULTS, LOD_FOLDER, LOD_INDEX, wantsLod, writeLod, type LodOptions, type LodReport } from "./lod.js";
import { linkLifetimeFromEnv } from "./link-lifetime.js";
import type { LinkLifetime } from "../../../pipeline/delivery-facts.js";

export type CompressConfig = {
  inputDir: string;
  deliveryDir: string;
  title: string;
  clean: CleanOptions;
  shIterations: number;
  shTolerance: number;
  shSample: number;
  shPaletteMax: number;
  spz: boolean;
  preview: boolean;
  fidelity: boolean;
  renderMaxSize: number;
  fidelityMaxViews: number;
  maxExtractBytes: number;
  /** The streamed LOD bundle for large scenes (src/lod.ts). */
  lod: LodOptions;
  /** How long the delivery's links work, when the runtime says (null: the page does not say). */
  linkLifetime: LinkLifetime | null;
  progress: (pct: number, what: string) => void;
};

const num = (v: string | undefined, d: number, name: string): number => {
  if (v === undefined || v === "") return d;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CompressorError(`Option ${name}=${v} is not a number.`);
  return n;
};
/** A count: a whole number of at least 1 (0 would not mean "none" downstream). */
const count = (v: string | undefined, d: number, name: string): number => {
  const n = num(v, d, name);
  if (!Number.isInteger(n) || n < 1) throw new CompressorError(`Option ${name}=${v} must be a whole number of at least 1.`);
  return n;
};
const flag = (v: string | undefined, d: boolean): boolean => (v === undefined || v === "" ? d : !/^(0|false|no|off)$/i.test(v));

export const PREVIEW_TITLE = "Preview, early in training: ";

export function configFromEnv(env: NodeJS.ProcessEnv, optMl: string, progress: CompressConfig["progress"]): CompressConfig {
  return {
    inputDir: join(optMl, "processing", "input", "model"),
    deliveryDir: join(optMl, "processing", "output", "delivery"),
    // The pipeline's early run on the early model (SPACEPORT_PREVIEW=1) says so on the page and in the report.
    title: `${env.SPACEPORT_PREVIEW === "1" ? PREVIEW_TITLE : ""}${env.COMPRESS_TITLE || "Spaceport scene"}`,
    clean: {
      minOpacity: num(env.COMPRESS_MIN_OPACITY, 1 / 255, "COMPRESS_MIN_OPACITY"),
      removeFloaters: flag(env.COMPRESS_REMOVE_FLOATERS, true),
      maxInvalidFraction: num(env.COMPRESS_MAX_INVALID_FRACTION, 0.5, "COMPRESS_MAX_INVALID_FRACTION"),
    },
    shIterations: count(env.COMPRESS_SH_ITERATIONS, 20, "COMPRESS_SH_ITERATIONS"),
    shTolerance: num(env.COMPRESS_SH_TOLERANCE, 0.005, "COMPRESS_SH_TOLERANCE"),
    shSample: num(env.COMPRESS_SH_SAMPLE, 262144, "COMPRESS_SH_SAMPLE"),
    shPaletteMax: num(env.COMPRESS_SH_PALETTE_MAX, 65536, "COMPRESS_SH_PALETTE_MAX"),
    spz: flag(env.COMPRESS_SPZ, true),
    preview: flag(env.COMPRESS_PREVIEW, true),
    fidelity: flag(env.COMPRESS_FIDELITY, true),
    renderMaxSize: num(env.COMPRESS_RENDER_MAX_SIZE, 400, "COMPRESS_RENDER_MAX_SIZE"),
    fidelityMaxViews: count(env.COMPRESS_FIDELITY_MAX_VIEWS, 8, "COMPRESS_FIDELITY_MAX_VIEWS"),
    maxExtractBytes: num(env.COMPRESS_MAX_EXTRACT_BYTES, 20 * 2 ** 30, "COMPRESS_MAX_EXTRACT_BYTES"),
    lod: lodFromEnv(env),
    linkLifetime: linkLifetimeFromEnv(env),
    progress,
  };
}

function lodFromEnv(env: NodeJS.ProcessEnv): LodOptions {
  const d = LOD_DEFAULTS;
  const ratio = num(env.COMPRESS_LOD_RATIO, d.ratio, "COMPRESS_LOD_RATIO");
  if (!(ratio > 0 && ratio < 1)) throw new CompressorError(`Option COMPRESS_LOD_RATIO=${env.COMPRESS_LOD_RATIO} must be between 0 and 1.`);
  const levels = count(env.COMPRESS_LOD_LEVELS, d.levels, "COMPRESS_LOD_LEVELS");
  if (levels < 2) throw new CompressorError(`Option COMPRESS_LOD_LEVELS=${env.COMPRESS_LOD_LEVELS} must be at least 2 (the scene and one coarser level).`);
  return {
    threshold: count(env.COMPRESS_LOD_THRESHOLD, d.threshold, "COMPRESS_LOD_THRESHOLD"), levels, ratio,
    chunkCount: count(env.COMPRESS_LOD_CHUNK_COUNT, d.chunkCount, "COMPRESS_LOD_CHUNK_COUNT"),
    chunkExtent: count(env.COMPRESS_LOD_CHUNK_EXTENT, d.chunkExtent, "COMPRESS_LOD_CHUNK_EXTENT"),
    budgets: {
      phone: count(env.COMPRESS_LOD_BUDGET_PHONE, d.budgets.phone, "COMPRESS_LOD_BUDGET_PHONE"),
      desktop: count(env.COMPRESS_LOD_BUDGET_DESKTOP, d.budgets.desktop, "COMPRESS_LOD_BUDGET_DESKTOP"),
    },
  };
}

async function readCameras(path: string | null): Promise<CameraJson[] | null> {
  if (!path) return null;
  try {
    const v = JSON.parse(await readFile(path, "utf8")) as unknown;
    const list = Array.isArray(v) ? v : (v as { cameras?: unknown }).cameras;
    return Array.isArray(list) ? (list as CameraJson[]).filter((c) => Array.isArray(c?.position) && Array.isArray(c?.rotation)) : null;
  } catch {
    return null; // cameras only steer the first view and fidelity; a bad file is not fatal
  }
}

export async function compress(cfg: CompressConfig): Promise<Record<string, unknown>> {
  const t0 = Date.now(), times: Record<string, number> = {};
  const lap = (name: string, since: number): void => { times[name] = (Date.now() - since) / 1000; };
  const work = await mkdtemp(join(process.env.COMPRESS_TMPDIR || tmpdir(), "spaceport-compress-"));
  try {
    cfg.progress(1, "locating model");
    let t = Date.now();
    const input = await locateInput(cfg.inputDir, work, { maxBytes: cfg.maxExtractBytes, maxEntries: 100000 });
    const plyBytes = await readFile(input.ply);
    cfg.progress(5, "reading point_cloud.ply");
    const raw = parsePly(plyBytes);
    const { splats, report: cleanReport } = cleanSplats(raw, cfg.clean);
    lap("read_and_clean_s", t);
    cfg.progress(10, `clean-up kept ${splats.count} of ${raw.count} Gaussians`);

    await mkdir(cfg.deliveryDir, { recursive: true });
    t = Date.now();
    const table = await toPlySpace(splats);
    const sog = await encodeSog(table, {
      iterations: cfg.shIterations, tolerance: cfg.shTolerance, sample: cfg.shSample, paletteMax: cfg.shPaletteMax, workDir: join(work, "sog"),
      onProgress: (f, what) => cfg.progress(10 + 60 * f, what),
    });
    await writeFile(join(cfg.deliveryDir, "scene.sog"), sog.bytes);
    lap("sog_s", t);
    cfg.progress(72, "scene.sog written");

    t = Date.now();
    const lod = await lodStep(cfg, table, splats.count);
    if (lod) lap("lod_s", t);
    t = Date.now();
    const spzBytes = cfg.spz ? await writeSpzFile(cfg.deliveryDir, table) : null;
    if (cfg.spz) lap("spz_s", t);
    cfg.progress(76, "checking the SOG read-back");
    t = Date.now();
    const decoded = await readSogEnu(sog.bytes);
    if (decoded.count !== splats.count) throw new Error(`SOG read-back has ${decoded.count} Gaussians, expected ${splats.count}`);
    const errors = attributeErrors(splats, decoded, sog.order);
    lap("readback_s", t);

    const { cameras, camera, capture, upstream, scale, facts } = await writeViewerPage(cfg, splats, input, sog.bytes.byteLength, lod !== null);
    cfg.progress(80, "viewer written");

    let preview: Record<string, unknown> = { written: false };
    if (cfg.preview) {
      t = Date.now();
      preview = await writePreview(cfg.deliveryDir, lod !== null);
      lap("preview_s", t);
    }
    cfg.progress(90, "preview done"); t = Date.now();
    const heldOut = (cameras ?? []).filter((c) => c.held_out).map((c) => c.img_name).slice(0, cfg.fidelityMaxViews);
    const fidelity = cfg.fidelity ? await renderFidelity(splats, decoded, input.cameras, work, cfg.renderMaxSize, heldOut) : { available: false as const, reason: "disabled (COMPRESS_FIDELITY=0)" };
    lap("fidelity_s", t);

    const sogBytes = sog.bytes.byteLength, plySize = plyBytes.byteLength;
    const report = {
      stage: "compressor",
      title: cfg.title,
      input: { source: input.source.split(/[\\/]/).pop(), sourceBytes: input.sourceBytes, plyBytes: plySize, shDegree: raw.shDegree, cameras: cameras?.length ?? 0 },
      gaussians: { input: cleanReport.before, delivered: cleanReport.after, removed: cleanReport.removed },
      output: {
        sogBytes, spzBytes, files: sog.files,
        compressionRatio: plySize / sogBytes,
        spzCompressionRatio: spzBytes ? plySize / spzBytes : null,
      },
      sh: sog.sh, quality: facts.quality, place: facts.place,
      fidelity: { attributes: errors, renders: fidelity },
      viewer: { camera, capture, scale, file: "index.html", content: lod ? LOD_INDEX : "scene.sog", linkLifetime: cfg.linkLifetime },
      delivery: deliveryForm(splats.count, cfg.lod, lod),
      georeference: upstream.georeference,
      warnings: upstream.warnings,
      preview,
      timings: { ...times, wall_s: (Date.now() - t0) / 1000 },
    };
    await writeFile(join(cfg.deliveryDir, "report.json"), JSON.stringify(report, null, 2));
    cfg.progress(100, "done");
    return report;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A large scene's streamed bundle (null below the threshold, where a stale one is removed). */
async function lodStep(cfg: CompressConfig, table: Parameters<typeof writeLod>[0], count: number): Promise<LodReport | null> {
  if (wantsLod(count, cfg.lod)) return writeLod(table, cfg.deliveryDir, cfg.lod, (f, what) => cfg.progress(72 + 3 * f, what));
  // a bundle from an earlier run into this folder would no longer match the scene
  await rm(join(cfg.deliveryDir, LOD_FOLDER), { recursive: true, force: true });
  return null;
}

/** The viewer page: its first camera from the photos' poses, its scale line from the georeference,
 *  and what the buyer gets (held-out quality, place, size) under the title. */
async function writeViewerPage(cfg: CompressConfig, splats: Parameters<typeof firstView>[0], input: { cameras: string | null; upstream: string | null; metrics: string | null }, sceneBytes: number, streamed: boolean) {
  const cameras = await readCameras(input.cameras);
  const { camera, capture } = firstView(splats, cameras);
  const upstream = await readUpstream(input.upstream, input.metrics);
  const scale = scaleNotice(upstream.georeference);
  const measure = measureConfig(upstream.georeference);
  await writeViewer(cfg.deliveryDir, cfg.title, viewerSettings(camera), scale, measure, streamed ? { budgets: cfg.lod.budgets } : null);
  const facts = await buyerFacts(input.metrics, upstream.georeference, sceneBytes);
  // the measuring tool shows the site's coordinates (its Site label): the facts line does not repeat them
  await addFactsToPage(cfg.deliveryDir, facts, { place: measure.site === null, linkLifetime: cfg.linkLifetime });
  return { cameras, camera, capture, upstream, scale, facts };
}

/** scene.spz beside the SOG (an extra format for other viewers); its size, or null when none was made. */
async function writeSpzFile(deliveryDir: string, table: Parameters<typeof writeSpz>[0]["dataTable"]): Promise<number | null> {
  const mem = new MemoryFileSystem();
  await writeSpz({ filename: "scene.spz", dataTable: table }, mem);
  const data = [...mem.results.values()][0];
  if (!data) return null;
  await writeFile(join(deliveryDir, "scene.spz"), data);
  return data.byteLength;
}

/** preview.webp: the viewer's first frame in headless Chromium, and the email's thumbnail.jpg
 *  made from it; or why there is none. */
async function writePreview(deliveryDir: string, streamed: boolean): Promise<Record<string, unknown>> {
  if (!chromiumPath()) return { written: false, reason: "chromium is not installed" };
  try {
    // a streamed page first shows its coarsest level: the preview shows the whole scene instead
    const cap = await captureViewer(deliveryDir, { width: 1200, height: 675, query: `?noui&noanim${streamed ? "&content=./scene.sog" : ""}` });
    await writeFile(join(deliveryDir, "preview.webp"), cap.webp);
    const thumbnail = await writeThumbnail(deliveryDir);
    return { written: true, bytes: cap.webp.byteLength, firstFrameMs: cap.firstFrameMs, lumaVariance: Math.round(cap.stats.variance), thumbnail };
  } catch (e) {
    return { written: false, reason: `headless viewer capture failed: ${(e as Error).message.slice(0, 300)}` };
  }
}

/** report.delivery: which form the buyer's page loads, and why. */
function deliveryForm(count: number, opts: LodOptions, lod: LodReport | null): Record<string, unknown> {
  const why = lod ? `${count} Gaussians, above the LOD threshold of ${opts.threshold}` : `${count} Gaussians, not above the LOD threshold of ${opts.threshold}`;
  return {
    form: lod ? "streamed" : "single-file",
    reason: why,
    singleFile: "scene.sog",
    streamed: lod ? { index: LOD_INDEX, ...lod, chunkCount: opts.chunkCount, chunkExtent: opts.chunkExtent, ratio: opts.ratio, budgets: opts.budgets } : null,
  };
}

export { DELIVERY_FILES };
