// One viewer page load in headless Chromium, timed and sampled for the viewer benchmark: on a
// throttled connection (CDP Network.emulateNetworkConditions), on a desktop or a phone-sized
// touch screen; time to the viewer's first frame, time to full detail (the viewer draws the
// splats it should at full detail, its streamer reports ready with nothing loading and stays so,
// nothing is in flight on the network), bytes fetched,
// and peak memory (the page's JS heap from CDP Performance metrics, resident memory of the
// browser's processes and of its renderer).
import type { CDPSession, Page } from "playwright-core";
import { openPage } from "../images/compressor/src/browser.js";
import { sampleMemory, type MemoryPeaks } from "./browser-memory.js";

export type Device = { name: "desktop" | "phone"; width: number; height: number; mobile: boolean };
export const DEVICES: readonly Device[] = [
  { name: "desktop", width: 1280, height: 720, mobile: false },
  { name: "phone", width: 390, height: 844, mobile: true },
];

/** The throttled connection every load runs on (a middling 4G link). */
export type Throttle = { downloadMbit: number; uploadMbit: number; latencyMs: number };
export const THROTTLE: Throttle = { downloadMbit: 12, uploadMbit: 3, latencyMs: 70 };

export type LoadFigures = {
  firstFrameS: number;
  /** NaN when full detail was not reached within the time allowed (`renderedSplats` says how far it got). */
  fullDetailS: number;
  /** Splats the viewer drew in its last frame at full detail. */
  renderedSplats: number;
  fetchedBytes: number;
  peakJsHeap: number;
  peakBrowserRss: number;
  peakRendererRss: number;
  consoleErrors: string[];
  /** Where the screenshot at full detail went, or why there is none (null: none asked for). */
  screenshot: string | null;
};

/** Quiet time that counts as "settled": no streamer work and no request in flight for this long. */
const SETTLED_MS = 5000;

type Net = { inFlight: number; bytes: number };

async function throttled(page: Page, throttle: Throttle): Promise<{ cdp: CDPSession; net: Net }> {
  const cdp = await page.context().newCDPSession(page);
  const net: Net = { inFlight: 0, bytes: 0 };
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: throttle.latencyMs,
    downloadThroughput: (throttle.downloadMbit * 1e6) / 8, uploadThroughput: (throttle.uploadMbit * 1e6) / 8,
  });
  // http requests only: data: and blob: URLs have no network to wait for (and no finish event)
  const open = new Set<string>();
  const done = (id: string): void => { open.delete(id); net.inFlight = open.size; };
  cdp.on("Network.requestWillBeSent", (e: { requestId: string; request: { url: string } }) => {
    if (/^https?:/.test(e.request.url)) { open.add(e.requestId); net.inFlight = open.size; }
  });
  // bytes as they arrive: a request Chromium ends as aborted after its body was read still counts
  cdp.on("Network.dataReceived", (e: { requestId: string; encodedDataLength: number }) => { if (open.has(e.requestId)) net.bytes += e.encodedDataLength; });
  cdp.on("Network.loadingFinished", (e: { requestId: string }) => done(e.requestId));
  cdp.on("Network.loadingFailed", (e: { requestId: string }) => done(e.requestId));
  return { cdp, net };
}

/** The streamer watch, from the page's start: when the viewer's streamer last had work, and when
 *  it last became ready with nothing loading (the viewer's own reveal waits for the same signal). */
const watchStreamer = (page: Page): Promise<unknown> => page.addInitScript(() => {
  const w = window as unknown as { app?: { systems: { gsplat: { on: (e: string, f: (...a: unknown[]) => void) => void } }; stats: { frame: { gsplats: number } } }; __stream?: { lastBusy: number; settledAt: number | null; splats: number } };
  const s = { lastBusy: performance.now(), settledAt: null as number | null, splats: 0 };
  w.__stream = s;
  const attach = setInterval(() => {
    const app = w.app;
    if (!app?.systems?.gsplat) return;
    clearInterval(attach);
    app.systems.gsplat.on("frame:ready", (_camera, _layer, ready, loading) => {
      const now = performance.now();
      s.splats = app.stats.frame.gsplats;
      if (!ready || (loading as number) > 0) { s.lastBusy = now; s.settledAt = null; } else if (s.settledAt === null) s.settledAt = now;
    });
  }, 20);
});

type Stream = { lastBusy: number; settledAt: number | null; splats: number; now: number; firstFrame: number | undefined };
const streamState = (page: Page): Promise<Stream> => page.evaluate(() => {
  const w = window as unknown as { __stream: Omit<Stream, "now" | "firstFrame">; __firstFrame?: number };
  return { ...w.__stream, now: performance.now(), firstFrame: w.__firstFrame };
});

/** What counts as full detail: at least this share of `splats` drawn (a budget below the scene's
 *  size is filled in whole chunks, so a streamed page stops somewhat under it). */
export const FULL_DETAIL_SHARE = 0.75;

/** Loads `url` once and measures it; `fullSplats`: what the page draws at full detail (the
 *  scene, or the budget where that is smaller); `screenshot`: a PNG of the page at full detail. */
export async function measureLoad(url: string, device: Device, throttle: Throttle, timeoutMs: number, fullSplats: number, screenshot?: string): Promise<LoadFigures> {
  const opened = await openPage({ width: device.width, height: device.height, mobile: device.mobile });
  const { page } = opened;
  try {
    const { cdp, net } = await throttled(page, throttle);
    const sampler = await sampleMemory(cdp, 500);
    let peaks: MemoryPeaks | undefined;
    try {
      await watchStreamer(page);
      await page.goto(url, { timeout: timeoutMs });
      await page.waitForFunction(() => (window as unknown as { __firstFrame?: number }).__firstFrame !== undefined, undefined, { timeout: timeoutMs, polling: 100 });
      const until = Date.now() + timeoutMs;
      let s = await streamState(page);
      // a single file is whole at its first frame; a stream refines after it (the viewer lifts the
      // coarse-level clamp there), in steps far apart when frames are software-rendered
      const full = (): boolean => s.splats >= FULL_DETAIL_SHARE * fullSplats && s.settledAt !== null && s.now - Math.max(s.lastBusy, s.firstFrame ?? 0) > SETTLED_MS && net.inFlight <= 0;
      let reached = true;
      while (!full()) {
        if (Date.now() > until) { reached = false; break; }
        await page.waitForTimeout(250);
        s = await streamState(page);
      }
      peaks = await sampler.stop();
      const firstFrame = s.firstFrame ?? NaN;
      const figures: LoadFigures = {
        firstFrameS: firstFrame / 1000, fullDetailS: reached ? Math.max(firstFrame, s.settledAt!) / 1000 : NaN, renderedSplats: s.splats,
        fetchedBytes: net.bytes, peakJsHeap: peaks.jsHeap, peakBrowserRss: peaks.browser, peakRendererRss: peaks.renderer,
        consoleErrors: [...opened.consoleErrors], screenshot: null,
      };
      // a software-rendered frame of millions of splats can take longer than playwright's default wait
      if (screenshot) {
        try {
          await page.screenshot({ path: screenshot, timeout: timeoutMs });
          figures.screenshot = screenshot;
        } catch (e) {
          figures.screenshot = `not taken: ${(e as Error).message.split("\n")[0]}`;
        }
      }
      return figures;
    } finally {
      if (!peaks) await sampler.stop();
    }
  } finally {
    await opened.close();
  }
}
