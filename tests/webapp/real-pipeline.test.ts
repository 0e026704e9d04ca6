/**
 * The page against the real pipeline (the stage programs of images/, on this machine's CPU):
 * a 16-photo caliterra ZIP uploaded through the page with its first part failing once (reset by
 * the test) and sent again, submitted at preview quality, followed to `succeeded`, and the viewer
 * opened from the page's link: splats render (the compressor's own first-frame check) and no
 * console error. Minutes on two cores, so it runs when SPACEPORT_WEBAPP_REAL=1 (like the
 * end-to-end tests, it is a separate, slow check). Screenshots go to $SPACEPORT_SCREENSHOTS.
 */
import { createWriteStream, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import yazl from "yazl";
import { captureUrl, CHROMIUM_FLAGS, chromiumPath } from "../../images/compressor/src/browser.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices } from "../../pipeline/local/services.js";
import { spaceport } from "../../stages/spaceport.js";
import { tempDir } from "../local/fixtures.js";

const CALITERRA = join(import.meta.dirname, "..", "..", "..", "shared", "datasets", "caliterra");
const executablePath = chromiumPath();
const enabled = process.env["SPACEPORT_WEBAPP_REAL"] === "1" && executablePath && existsSync(CALITERRA);
const JOB_TIMEOUT_MS = 40 * 60_000;

(enabled ? describe : describe.skip)("the page with the real pipeline", () => {
  it(
    "16 caliterra photos at preview quality: uploaded with a retried part, succeeded, the viewer renders",
    async () => {
      const shots = process.env["SPACEPORT_SCREENSHOTS"] ?? tempDir("screens");
      mkdirSync(shots, { recursive: true });
      const dir = tempDir("webapp-real");
      const zipPath = join(dir, "caliterra-16.zip");
      const zip = new yazl.ZipFile();
      for (const name of readdirSync(CALITERRA).filter((n) => /\.jpe?g$/i.test(n)).sort().slice(0, 16)) zip.addFile(join(CALITERRA, name), name, { compress: false });
      zip.end();
      await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(zipPath)).on("close", resolve).on("error", reject));

      const services = await startLocalServices({ handlers, pipeline: spaceport, dataDir: join(dir, "data"), port: 0, env: { SPACEPORT_SMTP_URL: "" } });
      const browser = await chromium.launch({ executablePath: executablePath!, args: CHROMIUM_FLAGS });
      const errors: string[] = [];
      try {
        const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        page.on("pageerror", (e) => errors.push(e.message));
        let failedOnce = false;
        await page.route(/\/multipart\//, (route) => {
          if (failedOnce) return route.continue();
          failedOnce = true;
          return route.abort("connectionreset");
        });
        await page.goto(`${services.baseUrl}/`);
        await page.waitForSelector("#quality option", { state: "attached" });
        await page.fill("#email", "pilot@example.com");
        await page.selectOption("#quality", "preview");
        await page.setInputFiles("#pick-zip", zipPath);
        await page.waitForSelector("#upload-status[data-state=uploaded]", { timeout: 60_000 });
        expect(await page.textContent("#upload-status")).toContain("1 part had to be sent again");
        await page.screenshot({ path: join(shots, "real-01-uploaded.png") });
        await page.click("#submit");
        await page.waitForSelector("#jobs li");
        const jobId = (await page.$eval("#jobs li", (li) => (li as HTMLElement).dataset["jobId"]!))!;
        const row = `#jobs li[data-job-id="${jobId}"]`;
        await page.waitForSelector(`${row} .stage`, { timeout: 120_000 });
        await page.screenshot({ path: join(shots, "real-02-running.png") });
        await page.waitForSelector(`${row}[data-state=succeeded], ${row}[data-state=failed]`, { timeout: JOB_TIMEOUT_MS });
        await page.screenshot({ path: join(shots, "real-03-finished.png") });
        expect(await page.getAttribute(row, "data-state")).toBe("succeeded");
        const viewer = await page.getAttribute(`${row} a.viewer`, "href");
        expect(viewer).toBe(services.viewerUrl(jobId));
        const capture = await captureUrl(viewer!);
        writeFileSync(join(shots, "real-04-viewer.png"), capture.png);
        expect(capture.consoleErrors).toEqual([]);
        expect(capture.stats.distinctColors).toBeGreaterThan(20); // splats, not a blank canvas
        expect(errors).toEqual(["Failed to load resource: net::ERR_CONNECTION_RESET"]); // the one reset injected
      } finally {
        await browser.close();
        await services.close();
      }
    },
    JOB_TIMEOUT_MS + 120_000,
  );
});
