// The delivery's web viewer: PlayCanvas' SuperSplat viewer page (the one splat-transform's
// HTML writer emits), pointed at scene.sog, with the job's title, a line on the model's scale,
// and the first camera (firstview.ts picks it; the oblique overview below is the aerial one).
import { Column, DataTable, MemoryFileSystem, writeHtml } from "@playcanvas/splat-transform";
import { defaultSettings, validateSettings, type ExperienceSettings } from "@playcanvas/splat-transform/viewer-settings";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CameraJson } from "./synthetic.js";
import type { Splats } from "./ply.js";
import { MEASURE_SCRIPT, measureScript, withMeasureTool } from "./measure-page.js";
import type { MeasureConfig } from "./page/measure-config.js";
import { contentUrlFor, withLodStreaming, type LodPageConfig } from "./lod-page.js";

export type Vec3 = [number, number, number];
export type ViewerCamera = { position: Vec3; target: Vec3; fov: number };

/** ENU (z up) to the viewer's world (y up, -z forward): (e, n, u) -> (e, u, -n). */
export const enuToViewer = (p: Vec3): Vec3 => [p[0], p[2], -p[1]];

function median(values: Float32Array): number {
  const s = Float32Array.from(values).sort();
  return s[Math.floor((s.length - 1) / 2)] ?? 0;
}

/**
 * First view, in ENU: target = robust centre of the splats, camera 50 degrees above the horizon
 * at a distance that frames the central 90% of the scene. The heading follows the photos'
 * "up" direction when cameras.json is known (so the view matches how the site was flown),
 * else looks north.
 */
export function initialCameraEnu(splats: Splats, cameras: CameraJson[] | null, fovDeg = 60, elevationDeg = 50): ViewerCamera {
  const xs = splats.columns.get("x")!, ys = splats.columns.get("y")!, zs = splats.columns.get("z")!;
  const step = Math.max(1, Math.floor(splats.count / 200000));
  const pick = (c: Float32Array): Float32Array => Float32Array.from({ length: Math.ceil(c.length / step) }, (_, i) => c[i * step]!);
  const cx = median(pick(xs)), cy = median(pick(ys)), cz = median(pick(zs));
  const d2 = Float32Array.from({ length: Math.ceil(xs.length / step) }, (_, i) => Math.hypot(xs[i * step]! - cx, ys[i * step]! - cy)).sort();
  const radius = Math.max(d2[Math.floor(0.9 * (d2.length - 1))] ?? 1, 1e-3);
  let hx = 0, hy = 1;
  if (cameras && cameras.length > 0) {
    let sx = 0, sy = 0;
    for (const c of cameras) {
      // image "up" is the camera's -y axis (OpenCV); rotation is camera-to-world, so column 1
      const r = c.rotation;
      sx -= r[0]?.[1] ?? 0; sy -= r[1]?.[1] ?? 0;
    }
    const l = Math.hypot(sx, sy);
    if (l > 1e-6 * cameras.length) { hx = sx / l; hy = sy / l; }
  }
  const el = (elevationDeg * Math.PI) / 180;
  const dist = (radius / Math.tan((fovDeg * Math.PI) / 360)) * 1.15;
  const position: Vec3 = [cx - hx * dist * Math.cos(el), cy - hy * dist * Math.cos(el), cz + dist * Math.sin(el)];
  return { position, target: [cx, cy, cz], fov: fovDeg };
}

/** The page's background colour (0-1 RGB): what a frame shows where there is no model. */
export const VIEWER_BACKGROUND: [number, number, number] = [0.11, 0.12, 0.14];

export function viewerSettings(cameraEnu: ViewerCamera): ExperienceSettings {
  const s = defaultSettings("object");
  s.background = { color: [...VIEWER_BACKGROUND] };
  s.cameras = [{ initial: { position: enuToViewer(cameraEnu.position), target: enuToViewer(cameraEnu.target), fov: cameraEnu.fov } }];
  validateSettings(s);
  return s;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Writes index.html, index.css, index.js and the measuring tool's measure.js into outDir; the page
 *  loads ./scene.sog, or with `streamed` the LOD bundle (lod-page.ts). */
export async function writeViewer(outDir: string, title: string, settings: ExperienceSettings, scaleNote: string | null, measure: MeasureConfig, streamed: LodPageConfig | null = null): Promise<string[]> {
  // splat-transform's HTML writer carries the viewer; a 4-splat table gets its page, css and js
  const cols = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];
  const tiny = new DataTable(cols.map((c) => new Column(c, Float32Array.from([0, 1, 2, 3], (v) => (c === "rot_0" ? 1 : v * 0.1)))));
  const mem = new MemoryFileSystem();
  await writeHtml({ filename: "/viewer/index.html", dataTable: tiny, bundle: false, iterations: 1, viewerSettingsJson: settings }, mem);
  const get = (name: string): Uint8Array => {
    for (const [p, d] of mem.results) if (p.split("/").pop() === name) return d;
    throw new Error(`splat-transform's HTML writer produced no ${name}`);
  };
  let html = Buffer.from(get("index.html")).toString("utf8");
  const bootstrap = JSON.stringify({ contentUrl: contentUrlFor(streamed !== null), settings }).replace(/</g, "\\u003c");
  const seam = /<script type="application\/json" id="sse-bootstrap">[\s\S]*?<\/script>/;
  if (!seam.test(html)) throw new Error("viewer page has no bootstrap block");
  html = html.replace(seam, () => `<script type="application/json" id="sse-bootstrap">${bootstrap}</script>`);
  html = html.replace(/<title>[^<]*<\/title>/, () => `<title>${escapeHtml(title)}</title>`);
  // the scale line says whether distances in the model are metres (the SfM stage's georeference)
  const note = scaleNote ? `<div id="spaceport-scale" style="font:400 13px/1.3 system-ui,sans-serif">${escapeHtml(scaleNote)}</div>` : "";
  const badge = `<div id="spaceport-title" style="position:fixed;top:12px;left:16px;z-index:10;font:600 16px/1.3 system-ui,sans-serif;color:#fff;text-shadow:0 1px 3px #000;pointer-events:none">${escapeHtml(title)}${note}</div>`;
  // no favicon request (a 404 would be a console error on every load)
  html = html.replace(/<\/title>/, () => `</title>\n        <link rel="icon" href="data:," />`);
  html = html.replace(/<body>/, () => `<body>\n        ${badge}`);
  if (streamed) html = withLodStreaming(html, streamed);
  await writeFile(join(outDir, "index.html"), withMeasureTool(html, measure));
  await writeFile(join(outDir, "index.css"), get("index.css"));
  await writeFile(join(outDir, "index.js"), get("index.js"));
  await writeFile(join(outDir, MEASURE_SCRIPT), await measureScript());
  return ["index.html", "index.css", "index.js", MEASURE_SCRIPT];
}
