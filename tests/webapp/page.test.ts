/**
 * The operator's page in Debian's Chromium (playwright-core) against the local services on
 * 127.0.0.1, with the small test pipeline (shell-script stages) so each job takes seconds:
 * upload a 16-photo caliterra ZIP with its first part PUT failing once (the connection reset by
 * the test) and sent again, submit at preview quality, watch it succeed, open and copy the viewer
 * link; cancel a job during its first stage; retry a job whose training failed. Screenshots of
 * each state go to $SPACEPORT_SCREENSHOTS (default: a temp folder).
 */
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import yauzl from "yauzl";
import yazl from "yazl";
import { CHROMIUM_FLAGS, chromiumPath } from "../../images/compressor/src/browser.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices, type LocalServices } from "../../pipeline/local/services.js";
import { PARTS_IN_FLIGHT } from "../../webapp/src/uploader.js";
import { processAlive as alive, SCRIPTS, startSmtp, tempDir, testConfig, testPipeline, until } from "../local/fixtures.js";

const CALITERRA = join(import.meta.dirname, "..", "..", "..", "shared", "datasets", "caliterra");
const executablePath = chromiumPath();
const runIf = executablePath && existsSync(CALITERRA) ? describe : describe.skip;

async function caliterraZip(path: string, count: number): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const name of readdirSync(CALITERRA).filter((n) => /\.jpe?g$/i.test(n)).sort().slice(0, count)) zip.addFile(join(CALITERRA, name), name, { compress: false });
  zip.end();
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(createWriteStream(path)).on("close", resolve).on("error", reject));
  return path;
}

runIf("the operator's page in Chromium", () => {
  const shots = process.env["SPACEPORT_SCREENSHOTS"] ?? tempDir("screens");
  mkdirSync(shots, { recursive: true });
  let browser: Browser;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let services: LocalServices;
  let dir: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    dir = tempDir("webapp");
    smtp = await startSmtp();
    const flag = join(dir, "train-fails-once");
    // Faults the tests arm with a file: prep hangs (cancel), training fails once (retry).
    const prep = `
if [ -f "${dir}/slow-prep" ]; then echo "progress: 5% starting"; sleep 60; fi
${SCRIPTS.prep}`;
    const train = `
if [ -f "${dir}/arm-train-failure" ] && [ ! -f "${flag}" ]; then
  touch "${flag}"
  echo "the GPU ran out of memory" > "$SPACEPORT_OPT_ML/output/failure"
  exit 1
fi
${SCRIPTS.train}`;
    services = await startLocalServices({
      handlers,
      dataDir: join(dir, "data"),
      environment: "test",
      config: testConfig(),
      pipeline: testPipeline(dir, { prep, train }),
      port: 0,
      env: { SPACEPORT_SMTP_URL: smtp.url },
      retry: { quotaMs: 50, throttleMs: 50, lambdaMs: 50 },
      quotaHoldMs: 0,
      stopGraceMs: 500,
    });
    browser = await chromium.launch({ executablePath: executablePath!, args: CHROMIUM_FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    await services?.close();
    await smtp?.close();
  });

  async function openPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: services.baseUrl });
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(`${services.baseUrl}/`);
    await page.waitForSelector("#quality option", { state: "attached" });
    return page;
  }

  async function uploadAndSubmit(page: Page, zip: string, email: string, shot?: string): Promise<string> {
    await page.fill("#email", email);
    await page.selectOption("#quality", "preview");
    await page.setInputFiles("#pick-zip", zip);
    await page.waitForSelector("#upload-status[data-state=uploaded]", { timeout: 30_000 });
    if (shot) await page.screenshot({ path: join(shots, shot) });
    await page.click("#submit");
    return submittedJob(page);
  }

  /** The job the page just submitted (its status line names it; the list also holds the server's earlier jobs). */
  async function submittedJob(page: Page): Promise<string> {
    await page.waitForFunction(() => /Job \S+ submitted/.test(document.getElementById("submit-status")?.textContent ?? ""));
    const jobId = /Job (\S+) submitted/.exec((await page.textContent("#submit-status")) ?? "")![1]!;
    await page.waitForSelector(jobRow(page, jobId));
    return jobId;
  }

  const jobRow = (page: Page, jobId: string) => `#jobs li[data-job-id="${jobId}"]`;

  it("uploads a 16-photo ZIP with a part that fails once, submits at preview quality, and opens the viewer", async () => {
    const zip = await caliterraZip(join(dir, "caliterra-16.zip"), 16);
    const page = await openPage();
    let failedOnce = false;
    await page.route(/\/multipart\//, async (route) => {
      if (!failedOnce) {
        failedOnce = true;
        return route.abort("connectionreset");
      }
      return route.continue();
    });
    await page.screenshot({ path: join(shots, "01-page.png") });
    const jobId = await uploadAndSubmit(page, zip, "pilot@example.com", "02-uploaded-after-retry.png");
    expect(failedOnce).toBe(true);
    expect(await page.textContent("#upload-status")).toContain("uploaded (5.0 MB); 1 part had to be sent again.");
    await page.screenshot({ path: join(shots, "03-submitted.png") });
    await page.waitForSelector(`${jobRow(page, jobId)}[data-state=succeeded]`, { timeout: 60_000 });
    const row = await page.textContent(jobRow(page, jobId));
    expect(row).toContain("Ready");
    expect(row).toContain("Emails go to pilot@example.com");
    await page.screenshot({ path: join(shots, "04-succeeded.png") });

    await page.click(`${jobRow(page, jobId)} button:has-text("Copy link to share")`);
    await page.waitForSelector(`${jobRow(page, jobId)} button:has-text("Link copied")`);
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(services.viewerUrl(jobId));
    const [viewer] = await Promise.all([page.context().waitForEvent("page"), page.click(`${jobRow(page, jobId)} a.viewer`)]);
    await viewer.waitForLoadState();
    expect(viewer.url()).toBe(services.viewerUrl(jobId));
    expect(await viewer.textContent("body")).toContain("viewer");
    // The upload went into the uploads bucket whole, and the job's input is a copy of it.
    const input = await services.objectStore.head(services.buckets.processing, `jobs/${jobId}/input/photos.zip`);
    expect(input?.size).toBe((await import("node:fs")).statSync(zip).size);
    // The one reset the test injected; nothing else.
    expect(consoleErrors).toEqual(["Failed to load resource: net::ERR_CONNECTION_RESET"]);
    consoleErrors.length = 0;
  });

  it("cancels a job during its first stage: cancelled, one email, the stage process gone, the input kept", async () => {
    const zip = await caliterraZip(join(dir, "caliterra-4.zip"), 4);
    const page = await openPage();
    writeFileSync(join(dir, "slow-prep"), "");
    const jobId = await uploadAndSubmit(page, zip, "cancel@example.com");
    await page.waitForSelector(`${jobRow(page, jobId)}[data-state=running]`);
    const job = await until("the first stage's process", () => services.runtime.store.sageMakerJobsOf(jobId).find((j) => j.pid !== undefined && services.runtime.store.getProgress(j.name)));
    await page.screenshot({ path: join(shots, "05-running-first-stage.png") });
    await page.click(`${jobRow(page, jobId)} button:has-text("Cancel")`);
    await page.waitForSelector(`${jobRow(page, jobId)}[data-state=cancelled]`, { timeout: 20_000 });
    rmSync(join(dir, "slow-prep"));
    expect(await page.textContent(jobRow(page, jobId))).toContain("Retry from the failed stage");
    await page.screenshot({ path: join(shots, "06-cancelled.png") });
    expect(alive(job.pid!)).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    const mails = smtp.messages.filter((m) => m.to.includes("cancel@example.com"));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`Job ${jobId} was cancelled`);
    expect(await services.objectStore.head(services.buckets.processing, `jobs/${jobId}/input/photos.zip`)).toBeDefined();
    expect(consoleErrors).toEqual([]);
  });

  it("retries a job whose training failed: it succeeds without a second first-stage job", async () => {
    const zip = await caliterraZip(join(dir, "caliterra-4b.zip"), 4);
    const page = await openPage();
    writeFileSync(join(dir, "arm-train-failure"), "");
    const jobId = await uploadAndSubmit(page, zip, "retry@example.com");
    await page.waitForSelector(`${jobRow(page, jobId)}[data-state=failed]`, { timeout: 30_000 });
    expect(await page.textContent(`${jobRow(page, jobId)} .failure`)).toContain("train: the GPU ran out of memory");
    await page.screenshot({ path: join(shots, "07-training-failed.png") });
    // The failure email links to Retry: open it in a fresh browser (no job list of its own).
    const mail = await until("the failure email", () => smtp.messages.find((m) => m.to.includes("retry@example.com")));
    const link = `${services.baseUrl}/app/#retry=${jobId}`;
    expect(mail.text).toContain(`Retry from the failed stage (finished stages are kept): ${link}`);
    const fresh = await (await browser.newContext()).newPage();
    await fresh.goto(link);
    await fresh.click(`${jobRow(fresh, jobId)} button:has-text("Retry from the failed stage")`);
    await fresh.waitForSelector(`${jobRow(fresh, jobId)}[data-state=succeeded]`, { timeout: 30_000 });
    await fresh.screenshot({ path: join(shots, "08-retried-from-email-link-succeeded.png") });
    const jobs = services.runtime.store.sageMakerJobsOf(jobId).map((j) => `${j.stage}:${j.status}`);
    expect(jobs).toEqual(["prep:Completed", "train:Failed", "train:Completed", "pack:Completed"]);
    expect(consoleErrors).toEqual([]);
  });

  it("zips a picked folder in the browser and uploads it; the job's input is that ZIP with every photo", async () => {
    const folder = join(dir, "survey-folder");
    mkdirSync(folder, { recursive: true });
    // All the photos: about 24 MB, so the streamed ZIP goes up as several parts at once.
    const names = readdirSync(CALITERRA).filter((n) => /\.jpe?g$/i.test(n)).sort();
    for (const name of names) copyFileSync(join(CALITERRA, name), join(folder, name));
    writeFileSync(join(folder, "notes.txt"), "not a photo");
    const page = await openPage();
    await page.fill("#email", "folder@example.com");
    await page.setInputFiles("#pick-folder", folder);
    await page.waitForSelector("#upload-status[data-state=uploaded]", { timeout: 30_000 });
    await page.screenshot({ path: join(shots, "09-folder-uploaded.png") });
    await page.click("#submit");
    const jobId = await submittedJob(page);
    const zip = services.objectStore.path(services.buckets.processing, `jobs/${jobId}/input/photos.zip`);
    expect(await zipEntries(zip)).toEqual(names);
    const stored = await zipContents(zip);
    for (const name of names) expect(stored.get(name)?.equals(readFileSync(join(CALITERRA, name)))).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it(`sends up to ${PARTS_IN_FLIGHT} parts at once, each once, and the store joins them in order`, async () => {
    const parts = PARTS_IN_FLIGHT + 2;
    const big = join(dir, "many-parts.zip");
    const bytes = Buffer.alloc((parts - 1) * 8 * 1024 * 1024 + 4096);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32LE(i, i);
    writeFileSync(big, bytes);
    const page = await openPage();
    const sent: string[] = [];
    let inFlight = 0;
    let most = 0;
    const isPart = (url: string) => /\/multipart\//.test(url);
    const ended = (request: { url(): string }) => {
      if (isPart(request.url())) inFlight--;
    };
    page.on("requestfinished", ended);
    page.on("requestfailed", ended);
    await page.route(/\/multipart\//, async (route) => {
      sent.push(/\/multipart\/[0-9a-f]+\/(\d+)/.exec(route.request().url())![1]!);
      most = Math.max(most, ++inFlight);
      // Held a moment, so that the parts the page sends at once are all seen in flight together.
      await new Promise((r) => setTimeout(r, 300));
      return route.continue();
    });
    const completed = page.waitForResponse((r) => /\/uploads\/[^/]+\/complete$/.test(r.url()), { timeout: 30_000 });
    await page.setInputFiles("#pick-zip", big);
    await page.waitForSelector("#upload-status[data-state=uploaded]", { timeout: 30_000 });
    expect(most).toBe(PARTS_IN_FLIGHT);
    expect([...sent].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: parts }, (_, i) => String(i + 1)));
    expect(await page.textContent("#upload-status")).toContain("uploaded (");
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(((await (await completed).json()) as { input: string }).input)!;
    expect(readFileSync(services.objectStore.path(bucket!, key!)).equals(bytes)).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it("resumes after a reload: the parts the store has are not sent again", async () => {
    // Two parts (8 MiB + the rest); the second never gets through before the reload.
    const big = join(dir, "big.zip");
    writeFileSync(big, Buffer.alloc(8 * 1024 * 1024 + 4096, 7));
    const page = await openPage();
    const sent: string[] = [];
    await page.route(/\/multipart\//, async (route) => {
      const part = /\/multipart\/[0-9a-f]+\/(\d+)/.exec(route.request().url())![1]!;
      sent.push(part);
      // The second part's connection keeps dropping until the page is reloaded.
      if (part === "2") return route.abort("connectionreset");
      return route.continue();
    });
    // Both parts go at once: the reload must come after the server has answered for the first
    // (its bytes all sent is not enough: a part still in flight at a reload is sent again).
    const firstStored = page.waitForResponse((r) => /\/multipart\/[0-9a-f]+\/1(?:\D|$)/.test(r.url()) && r.ok());
    await page.fill("#email", "resume@example.com");
    await page.setInputFiles("#pick-zip", big);
    await firstStored;
    await until("part 2 refused twice", () => (sent.filter((p) => p === "2").length >= 2 ? true : undefined));
    await page.waitForFunction(() => /8\.0 MB of 8\.0 MB.*sent again/.test(document.getElementById("upload-status")?.textContent ?? ""));
    await page.unrouteAll({ behavior: "ignoreErrors" });
    await page.reload();
    await page.waitForSelector("#quality option", { state: "attached" });
    const again: string[] = [];
    await page.route(/\/multipart\//, async (route) => {
      again.push(/\/multipart\/[0-9a-f]+\/(\d+)/.exec(route.request().url())![1]!);
      return route.continue();
    });
    await page.setInputFiles("#pick-zip", big);
    await page.waitForSelector("#upload-status[data-state=uploaded]", { timeout: 30_000 });
    await page.screenshot({ path: join(shots, "10-resumed.png") });
    expect(again).toEqual(["2"]);
    expect(await page.textContent("#upload-status")).toContain("uploaded (8.0 MB)");
    consoleErrors.length = 0; // the resets the test caused
  });
});

function zipEntries(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const names: string[] = [];
      zip.on("entry", (entry: yauzl.Entry) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on("end", () => resolve(names));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}

/** Every entry of a ZIP, by name, with its bytes. */
function zipContents(path: string): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error);
      const contents = new Map<string, Buffer>();
      zip.on("entry", (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError);
          const chunks: Buffer[] = [];
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("end", () => {
            contents.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
          stream.on("error", reject);
        });
      });
      zip.on("end", () => resolve(contents));
      zip.on("error", reject);
      zip.readEntry();
    });
  });
}
