// Headless Chromium (Debian's chromium through playwright-core): opens the delivery's viewer
// from a loopback HTTP server, waits for the first rendered frame and screenshots it.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, normalize, sep } from "node:path";
import { chromium as pwChromium, type Page } from "playwright-core";
import { contentTypeFor } from "../../../pipeline/content-types.js";


/** Serves `dir` read-only on 127.0.0.1 (random port). */
export async function serveDir(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const root = normalize(dir + sep);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = normalize(join(root, path === "/" ? "index.html" : path));
    if (!file.startsWith(root) || !existsSync(file)) { res.writeHead(404).end("not found"); return; }
    readFile(file).then(
      (data) => res.writeHead(200, { "content-type": contentTypeFor(file), "cache-control": "no-store" }).end(data),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

export function chromiumPath(): string | null {
  const env = process.env.SPACEPORT_CHROMIUM;
  if (env && existsSync(env)) return env;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) if (existsSync(p)) return p;
  return null;
}

export const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-unsafe-swiftshader"];

export type Capture = {
  png: Buffer;
  webp: Buffer;
  /** Luma statistics of the screenshot: variance and number of distinct colours (in 4-bit bins). */
  stats: { mean: number; variance: number; distinctColors: number };
  consoleErrors: string[];
  firstFrameMs: number;
};

export type CaptureOptions = { width?: number; height?: number; timeoutMs?: number; query?: string };

/** Serves a delivery folder on 127.0.0.1 and captures its viewer (the compressor's own preview). */
export async function captureViewer(deliveryDir: string, opts: CaptureOptions = {}): Promise<Capture> {
  const server = await serveDir(deliveryDir);
  try {
    return await captureUrl(server.url + "index.html", opts);
  } finally {
    await server.close();
  }
}

export type OpenPage = { page: Page; consoleErrors: string[]; close: () => Promise<void> };

/** Headless Chromium on a fresh profile with one page, its console errors collected; `touch`: a touch screen (taps),
 *  `mobile`: a phone's browser (meta viewport, coarse pointer). */
export async function openPage(opts: { width: number; height: number; touch?: boolean; mobile?: boolean }): Promise<OpenPage> {
  const exe = chromiumPath();
  if (!exe) throw new Error("chromium not found (install Debian's chromium or set SPACEPORT_CHROMIUM)");
  const profile = await mkdtemp(join(tmpdir(), "spaceport-chromium-"));
  const browser = await pwChromium.launchPersistentContext(profile, {
    executablePath: exe, headless: true, args: CHROMIUM_FLAGS, viewport: { width: opts.width, height: opts.height }, deviceScaleFactor: 1, hasTouch: opts.touch ?? opts.mobile ?? false, isMobile: opts.mobile ?? false,
  });
  const consoleErrors: string[] = [];
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(`pageerror: ${e.message}`));
  page.on("requestfailed", (r) => consoleErrors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  await page.addInitScript(() => {
    const w = window as unknown as { firstFrame?: () => void; __firstFrame?: number };
    w.firstFrame = () => { w.__firstFrame = performance.now(); };
  });
  return { page, consoleErrors, close: async () => { await browser.close(); await rm(profile, { recursive: true, force: true }); } };
}

/** Opens a viewer page at `url` exactly as a buyer's browser would, waits for its first frame, screenshots it. */
export async function captureUrl(url: string, opts: CaptureOptions = {}): Promise<Capture> {
  const width = opts.width ?? 960, height = opts.height ?? 540;
  const { page, consoleErrors, close } = await openPage({ width, height });
  try {
    const t0 = Date.now();
    await page.goto(url + (opts.query ?? ""), { waitUntil: "load" });
    await page.waitForFunction(() => (window as unknown as { __firstFrame?: number }).__firstFrame !== undefined, undefined, { timeout: opts.timeoutMs ?? 90_000, polling: 100 });
    const firstFrameMs = Date.now() - t0;
    // let the sort/upload settle for a few frames, then capture
    await page.waitForTimeout(1500);
    const png = await page.screenshot({ type: "png" });
    const analysed = await page.evaluate(async (b64: string) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.width; c.height = img.height;
      const ctx = c.getContext("2d")!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let sum = 0, sum2 = 0;
      const bins = new Set<number>();
      const n = d.length / 4;
      for (let i = 0; i < d.length; i += 4) {
        const y = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        sum += y; sum2 += y * y;
        bins.add(((d[i]! >> 4) << 8) | ((d[i + 1]! >> 4) << 4) | (d[i + 2]! >> 4));
      }
      const mean = sum / n;
      const webp = c.toDataURL("image/webp", 0.88);
      return { mean, variance: sum2 / n - mean * mean, distinctColors: bins.size, webp };
    }, png.toString("base64"));
    const webp = Buffer.from(analysed.webp.replace(/^data:image\/webp;base64,/, ""), "base64");
    return { png, webp, stats: { mean: analysed.mean, variance: analysed.variance, distinctColors: analysed.distinctColors }, consoleErrors, firstFrameMs };
  } finally {
    await close();
  }
}
