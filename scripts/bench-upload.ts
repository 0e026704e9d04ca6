/**
 * `npm run bench:upload [-- --gib 2]`: a 2 GiB ZIP uploaded through the operator's page in
 * headless Chromium against `spaceport dev`'s server on 127.0.0.1, in bounded memory. Prints the
 * page's peak JS heap, the peak resident memory of the browser's processes (all, and the page's
 * renderer) and of this Node process (the server), and the upload's throughput; beside it, as
 * the baseline on the same machine and run, the same file sent by Node as one streamed PUT to
 * the server's single-request upload route. The ZIP and the server's data live in a temporary
 * folder that is deleted at the end, whatever happens.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { chromium, type Page } from "playwright-core";
import yazl from "yazl";
import { CHROMIUM_FLAGS, chromiumPath } from "../images/compressor/src/browser.js";
import { sampleMemory, type MemoryPeaks } from "./browser-memory.js";
import { handlers } from "../functions/handlers.js";
import { startLocalServices, type LocalServices } from "../pipeline/local/services.js";
import { spaceport } from "../stages/spaceport.js";

const MIB = 1024 * 1024;

/** A stored (uncompressed) ZIP of `entries` files of `entryBytes` each: the size a big survey has. */
async function makeZip(path: string, entries: number, entryBytes: number): Promise<number> {
  const zip = new yazl.ZipFile();
  const block = Buffer.alloc(MIB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  for (let n = 0; n < entries; n++) {
    let left = entryBytes;
    const data = new Readable({ read() { const size = Math.min(left, block.length); left -= size; this.push(size > 0 ? block.subarray(0, size) : null); } });
    zip.addReadStream(data, `photo-${String(n).padStart(4, "0")}.jpg`, { compress: false, size: entryBytes });
  }
  zip.end();
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(path)).on("close", resolve).on("error", reject));
  return statSync(path).size;
}

type PagePeaks = MemoryPeaks & { seconds: number };

/** Uploads the ZIP through the page, sampling memory every 250 ms until the page says it is uploaded. */
async function throughThePage(page: Page, services: LocalServices, zipPath: string): Promise<PagePeaks> {
  const cdp = await page.context().newCDPSession(page);
  await page.goto(`${services.baseUrl}/`);
  await page.waitForSelector("#quality option", { state: "attached" });
  const sampler = await sampleMemory(cdp, 250);
  const started = performance.now();
  let seconds = 0;
  let peaks: MemoryPeaks;
  try {
    await page.setInputFiles("#pick-zip", zipPath);
    await page.waitForSelector("#upload-status[data-state=uploaded], #upload-status[data-state=failed]", { timeout: 30 * 60_000 });
    seconds = (performance.now() - started) / 1000;
    const state = await page.getAttribute("#upload-status", "data-state");
    if (state !== "uploaded") throw new Error(`the page's upload stopped: ${await page.textContent("#upload-status")}`);
  } finally {
    peaks = await sampler.stop();
  }
  return { seconds, ...peaks };
}

/** The baseline: the same file as one streamed PUT /uploads/<name>.zip from Node. */
async function directPut(services: LocalServices, zipPath: string): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const req = request(`${services.baseUrl}/uploads/baseline.zip`, {
      method: "PUT",
      headers: { authorization: `Bearer ${services.apiKey}`, "content-length": String(statSync(zipPath).size) },
    }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 201 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`))));
    });
    req.on("error", reject);
    createReadStream(zipPath).pipe(req);
  });
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { gib: { type: "string", default: "2" } } });
  const entryBytes = 64 * MIB;
  const entries = Math.round((Number(values.gib) * 1024 * MIB) / entryBytes);
  if (!Number.isInteger(entries) || entries < 1) throw new Error(`--gib: a positive size in GiB, got ${values.gib}`);
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("no Chromium found (apt-get install chromium, or set SPACEPORT_CHROMIUM)");
  const dir = mkdtempSync(join(tmpdir(), "spaceport-bench-upload-"));
  let services: LocalServices | undefined;
  try {
    const zipPath = join(dir, "survey.zip");
    const size = await makeZip(zipPath, entries, entryBytes);
    console.log(`ZIP: ${(size / MIB).toFixed(0)} MiB (${entries} stored entries) in ${dir}`);
    services = await startLocalServices({ handlers, pipeline: spaceport, dataDir: join(dir, "data"), port: 0, env: { SPACEPORT_SMTP_URL: "" } });
    const browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
    let peaks: PagePeaks;
    try {
      peaks = await throughThePage(await browser.newPage(), services, zipPath);
    } finally {
      await browser.close();
    }
    const baseline = await directPut(services, zipPath);
    const mb = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
    const rate = (seconds: number) => size / MIB / seconds;
    console.log(`page upload:     ${peaks.seconds.toFixed(1)} s, ${rate(peaks.seconds).toFixed(1)} MiB/s`);
    console.log(`baseline PUT:    ${baseline.toFixed(1)} s, ${rate(baseline).toFixed(1)} MiB/s (Node, one streamed request)`);
    console.log(`ratio:           page / baseline throughput = ${(rate(peaks.seconds) / rate(baseline)).toFixed(2)}`);
    console.log(`page JS heap:    peak ${mb(peaks.jsHeap)} (file ${mb(size)})`);
    console.log(`browser RSS:     peak ${mb(peaks.browser)} all processes, ${mb(peaks.renderer)} the page's renderer`);
    console.log(`server RSS:      peak ${mb(peaks.server)} (this Node process: server and bench)`);
  } finally {
    await services?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench:upload failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
