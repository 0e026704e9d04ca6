/**
 * `npm run bench:viewer [-- --model point_cloud.ply] [--n 2000000] [--sh 0] [--keep DIR] [--shots DIR] [--timeout 300]`:
 * a large scene (a trained model, or without --model the generated test scene, upsampled to
 * --n Gaussians by splitting each Gaussian into smaller ones) through the compressor with its
 * default LOD options, then its delivered page in headless Chromium on a throttled connection,
 * on a desktop and on a phone-sized touch screen, streamed (the page's default above the
 * threshold) and as the single scene.sog (`?content=./scene.sog`, the baseline) in the same run:
 * time to first frame and to full detail (at least 3/4 of the scene, or of the page's splat
 * budget where that is smaller, drawn and the streamer idle), bytes fetched, peak memory. Software WebGL
 * (SwiftShader) on a shared CPU makes every figure slow; the ratios are what compare.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromiumPath, serveDir } from "../images/compressor/src/browser.js";
import { encodePly, parsePly } from "../images/compressor/src/ply.js";
import { syntheticScene } from "../images/compressor/src/synthetic.js";
import { upsampleSplats } from "./upsample-splats.js";
import { DEVICES, measureLoad, THROTTLE, type LoadFigures } from "./viewer-timing.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MIB = 1024 * 1024;

/** Writes the upsampled scene as the compressor's input and runs the compressor on it (unless `opt/ml` already holds a delivery). */
async function deliver(optMl: string, model: string | undefined, n: number, sh: number): Promise<Record<string, any>> {
  const delivery = join(optMl, "processing", "output", "delivery");
  if (!existsSync(join(delivery, "report.json"))) {
    const base = model ? parsePly(readFileSync(model)) : syntheticScene(12000, sh, 5);
    console.log(`base scene: ${model ?? "generated test scene"}, ${base.count} Gaussians, SH degree ${base.shDegree}; upsampled to ${n}, SH degree ${sh}`);
    const input = join(optMl, "processing", "input", "model");
    mkdirSync(input, { recursive: true });
    writeFileSync(join(input, "point_cloud.ply"), encodePly(upsampleSplats(base, n, sh).columns));
    for (const f of ["cameras.json", "upstream.json"]) if (model && existsSync(join(model, "..", f))) writeFileSync(join(input, f), readFileSync(join(model, "..", f)));
    const started = Date.now();
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "images", "compressor", "src", "main.ts")], {
        cwd: ROOT, stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, SPACEPORT_OPT_ML: optMl, COMPRESS_FIDELITY: "0", COMPRESS_SPZ: "0", COMPRESS_PREVIEW: "0", COMPRESS_REMOVE_FLOATERS: "0" },
      });
      child.on("close", (c) => resolve(c ?? 1));
    });
    if (code !== 0) throw new Error(`the compressor failed (exit ${code}): ${readFileSync(join(optMl, "output", "failure"), "utf8")}`);
    console.log(`compressor: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return JSON.parse(readFileSync(join(delivery, "report.json"), "utf8"));
}

const row = (cells: (string | number)[]): string => `| ${cells.join(" | ")} |`;

function printTable(results: { device: string; form: string; f: LoadFigures }[]): void {
  console.log(row(["device", "form", "first frame s", "full detail s", "drawn splats", "fetched MB", "peak JS heap MB", "peak browser RSS MB", "peak renderer RSS MB", "console errors"]));
  console.log(row(Array(10).fill("---")));
  for (const { device, form, f } of results) {
    console.log(row([device, form, f.firstFrameS.toFixed(1), f.fullDetailS.toFixed(1), f.renderedSplats, (f.fetchedBytes / 1e6).toFixed(1),
      (f.peakJsHeap / MIB).toFixed(0), (f.peakBrowserRss / MIB).toFixed(0), (f.peakRendererRss / MIB).toFixed(0), f.consoleErrors.length]));
  }
  for (const device of DEVICES) {
    const single = results.find((r) => r.device === device.name && r.form === "single file")?.f;
    const lod = results.find((r) => r.device === device.name && r.form === "streamed")?.f;
    if (!single || !lod) continue;
    console.log(`${device.name}: streamed / single file = first frame ${(lod.firstFrameS / single.firstFrameS).toFixed(2)}, full detail ${(lod.fullDetailS / single.fullDetailS).toFixed(2)}, ` +
      `browser RSS ${(lod.peakBrowserRss / single.peakBrowserRss).toFixed(2)}, JS heap ${(lod.peakJsHeap / single.peakJsHeap).toFixed(2)}, bytes ${(lod.fetchedBytes / single.fetchedBytes).toFixed(2)}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: "string" }, n: { type: "string", default: "2000000" }, sh: { type: "string", default: "0" }, keep: { type: "string" }, shots: { type: "string" }, timeout: { type: "string", default: "300" } } });
  const n = Number(values.n), sh = Number(values.sh), timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--n: a whole number of Gaussians, got ${values.n}`);
  if (![0, 1, 2, 3].includes(sh)) throw new Error(`--sh: an SH degree 0-3, got ${values.sh}`);
  if (!(timeoutMs > 0)) throw new Error(`--timeout: seconds per page load, got ${values.timeout}`);
  if (!chromiumPath()) throw new Error("no Chromium found (apt-get install chromium, or set SPACEPORT_CHROMIUM)");
  const work = values.keep ?? mkdtempSync(join(tmpdir(), "spaceport-bench-viewer-"));
  try {
    const report = await deliver(join(work, "opt", "ml"), values.model, n, sh);
    const d = report.delivery;
    console.log(`delivery: ${report.gaussians.delivered} Gaussians, form ${d.form}; scene.sog ${(report.output.sogBytes / MIB).toFixed(1)} MiB` +
      (d.streamed ? `; streamed: ${d.streamed.levels} levels ${JSON.stringify(d.streamed.counts)}, ${d.streamed.chunks} chunks, ${(d.streamed.bytes / MIB).toFixed(1)} MiB; budgets phone ${d.streamed.budgets.phone}, desktop ${d.streamed.budgets.desktop}` : ""));
    console.log(`compressor timings: ${JSON.stringify(report.timings)}`);
    if (!d.streamed) throw new Error(`the scene was delivered as one file (${d.reason}): nothing to compare`);
    console.log(`connection: ${THROTTLE.downloadMbit} Mbit/s down, ${THROTTLE.uploadMbit} Mbit/s up, ${THROTTLE.latencyMs} ms latency (CDP Network.emulateNetworkConditions)`);
    if (values.shots) mkdirSync(values.shots, { recursive: true });
    const server = await serveDir(join(work, "opt", "ml", "processing", "output", "delivery"));
    const results: { device: string; form: string; f: LoadFigures }[] = [];
    try {
      for (const device of DEVICES) {
        for (const [form, query] of [["single file", "?content=./scene.sog"], ["streamed", ""]] as const) {
          // screenshots on the phone only: a software-rendered desktop frame of the whole scene is the slowest part of the run
          const shot = values.shots && device.name === "phone" ? join(values.shots, `${device.name}-${form === "streamed" ? "streamed" : "single-file"}.png`) : undefined;
          const scene = report.gaussians.delivered as number, budget = d.streamed.budgets[device.name] as number;
          const f = await measureLoad(`${server.url}index.html${query}`, device, THROTTLE, timeoutMs, form === "streamed" ? Math.min(scene, budget) : scene, shot);
          results.push({ device: device.name, form, f });
          console.log(`${device.name} ${form}: first frame ${f.firstFrameS.toFixed(1)} s, full detail ${Number.isNaN(f.fullDetailS) ? `not reached in ${timeoutMs / 1000} s` : `${f.fullDetailS.toFixed(1)} s`}, ${f.renderedSplats} splats drawn${f.screenshot ? `, screenshot ${f.screenshot}` : ""}${f.consoleErrors.length ? `, console errors: ${f.consoleErrors.join(" | ").slice(0, 300)}` : ""}`);
        }
      }
    } finally {
      await server.close();
    }
    printTable(results);
  } finally {
    if (!values.keep) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench:viewer failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
