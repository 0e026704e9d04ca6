/**
 * End to end, through the HTTP API of `spaceport dev` (a real child process on 127.0.0.1),
 * with the real stage programs: a generated survey and a CI-sized caliterra subset must come
 * out as viewers that render; bad inputs must fail with a plain reason, in the email and in
 * GET /jobs/{id}, without losing the input.
 *
 * Stated thresholds (see README, "End-to-end tests"):
 *   - SfM places every photo of the generated survey and >= 15 of 16 caliterra photos;
 *     generated-survey camera centres within 1% of the scene extent (RMSE) after a
 *     similarity alignment;
 *   - held-out PSNR >= 18 dB at `preview` quality (an untrained model scores about 10 dB);
 *   - SOG at least 10x smaller than the PLY;
 *   - the email's viewer link renders splats in headless Chromium without console errors.
 */
import { describe, expect, it, beforeAll, afterAll } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as tar from "tar";
import { captureUrl, chromiumPath } from "../../images/compressor/src/browser.js";

const ROOT = resolve(import.meta.dirname, "../..");
const PYTHON = process.env["SPACEPORT_PYTHON"] ?? "python3";
const CALITERRA = process.env["SPACEPORT_CALITERRA"] ?? resolve(ROOT, "../shared/datasets/caliterra");
const API_KEY = "sp_e2e_test_key_0123456789abcdef";
const JOB_TIMEOUT_MS = 35 * 60_000;

const PSNR_FLOOR_DB = 18;
const SURVEY_POSITION_RMSE = 0.01;

interface JobStatus {
  jobId: string;
  state: "queued" | "running" | "succeeded" | "failed";
  stage: string | null;
  stages: { name: string; state: string; durationSeconds?: number }[];
  delivery?: Record<string, string>;
  failure?: { stage?: string; reason: string; advice: string };
}

function python(args: string[]): string {
  const result = spawnSync(PYTHON, args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, PYTHONPATH: ROOT } });
  if (result.status !== 0) throw new Error(`${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

class DevServer {
  private constructor(
    readonly process: ChildProcess,
    readonly baseUrl: string,
    readonly dataDir: string,
    readonly log: string[],
  ) {}

  static async start(dataDir: string): Promise<DevServer> {
    const child = spawn(process.execPath, ["--import", "tsx", "stages/cli.ts", "dev", "--port", "0", "--data-dir", dataDir], {
      cwd: ROOT,
      env: { ...process.env, SPACEPORT_API_KEY: API_KEY, SPACEPORT_SMTP_URL: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const log: string[] = [];
    const baseUrl = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`spaceport dev did not start:\n${log.join("")}`)), 60_000);
      const onData = (chunk: Buffer) => {
        log.push(chunk.toString());
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log.join(""));
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]!);
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.on("exit", (code) => reject(new Error(`spaceport dev exited (${code}):\n${log.join("")}`)));
    });
    return new DevServer(child, baseUrl, dataDir, log);
  }

  /** A request as a well-behaved client makes it: on 429 (the per-client rate limit) wait as told. */
  private async call(path: string, init: RequestInit): Promise<Response> {
    for (;;) {
      const response = await fetch(`${this.baseUrl}${path}`, init);
      if (response.status !== 429) return response;
      await new Promise((r) => setTimeout(r, 1000 * Number(response.headers.get("retry-after") ?? 1)));
    }
  }

  async upload(zip: string, name: string): Promise<string> {
    const response = await this.call(`/uploads/${name}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/zip" },
      body: readFileSync(zip),
    });
    const body = (await response.json()) as { input?: string; uri?: string; s3Uri?: string };
    expect(response.status).toBeLessThan(300);
    return (body.input ?? body.uri ?? body.s3Uri)!;
  }

  async submit(input: string, email: string, quality = "preview"): Promise<string> {
    const response = await this.call("/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ input, email, options: { quality } }),
    });
    const body = (await response.json()) as { jobId: string };
    expect(response.status).toBe(202);
    return body.jobId;
  }

  async status(jobId: string): Promise<JobStatus> {
    const response = await this.call(`/jobs/${jobId}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(response.status).toBe(200);
    return (await response.json()) as JobStatus;
  }

  /** Polls the jobs one at a time (well under the rate limit) until each has finished. */
  async waitForAll(jobIds: Record<string, string>): Promise<Record<string, JobStatus>> {
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    const done: Record<string, JobStatus> = {};
    while (Object.keys(done).length < Object.keys(jobIds).length) {
      for (const [name, id] of Object.entries(jobIds)) {
        if (done[name]) continue;
        const status = await this.status(id);
        if (status.state === "succeeded" || status.state === "failed") done[name] = status;
        else if (Date.now() > deadline) throw new Error(`job ${name} (${id}) still ${status.state} in ${status.stage}`);
      }
      await new Promise((r) => setTimeout(r, 5000));
    }
    return done;
  }

  /** The local bucket folder of the job's outputs. */
  jobFolder(jobId: string): string {
    const buckets = join(this.dataDir, "buckets");
    const processing = readdirSync(buckets).find((b) => existsSync(join(buckets, b, "jobs", jobId)));
    return join(buckets, processing!, "jobs", jobId);
  }

  emailsFor(jobId: string): string[] {
    const outbox = join(this.dataDir, "outbox");
    if (!existsSync(outbox)) return [];
    return readdirSync(outbox)
      .filter((f) => f.endsWith(".eml"))
      .map((f) => readFileSync(join(outbox, f), "utf8"))
      .filter((text) => text.includes(jobId));
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((r) => this.process.once("exit", r));
    this.process.kill("SIGTERM");
    await exited;
  }
}

/** Plain text of a (possibly quoted-printable) .eml, for links and reasons. */
function emailText(eml: string): string {
  return eml.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function modelFiles(jobFolder: string): { ply: number; metrics: Record<string, unknown> } {
  const archive = readdirSync(join(jobFolder, "model"), { recursive: true })
    .map(String)
    .find((f) => f.endsWith("model.tar.gz"))!;
  const out = mkdtempSync(join(tmpdir(), "e2e-model-"));
  tar.x({ file: join(jobFolder, "model", archive), cwd: out, sync: true });
  const metrics = JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as Record<string, unknown>;
  const ply = statSync(join(out, "point_cloud.ply")).size;
  rmSync(out, { recursive: true, force: true });
  return { ply, metrics };
}

const work = mkdtempSync(join(tmpdir(), "spaceport-e2e-"));
const haveCaliterra = existsSync(CALITERRA);
let server: DevServer;
const jobs: Record<string, string> = {};
const finished: Record<string, JobStatus> = {};

beforeAll(async () => {
  python(["-m", "samples.survey", "--out", join(work, "survey"), "--count", "24", "--width", "640", "--height", "480"]);
  if (haveCaliterra) python(["-m", "samples.inputs", "caliterra", "--out", join(work, "caliterra16.zip"), "--count", "16", "--max-size", "800"]);
  for (const kind of ["unrelated", "no-images", "not-a-zip"]) python(["-m", "samples.inputs", kind, "--out", join(work, `${kind}.zip`)]);

  server = await DevServer.start(join(work, "data"));
  // All at once: the local SageMaker's quotas (prod's) queue them, as on AWS.
  const inputs: Record<string, string> = {
    survey: join(work, "survey", "survey.zip"),
    unrelated: join(work, "unrelated.zip"),
    "no-images": join(work, "no-images.zip"),
    "not-a-zip": join(work, "not-a-zip.zip"),
  };
  if (haveCaliterra) inputs["caliterra"] = join(work, "caliterra16.zip");
  for (const [name, zip] of Object.entries(inputs)) {
    jobs[name] = await server.submit(await server.upload(zip, `${name}.zip`), `${name}-pilot@example.com`);
  }
  Object.assign(finished, await server.waitForAll(jobs));
}, JOB_TIMEOUT_MS + 120_000);

afterAll(async () => {
  await server?.stop();
  if (!process.env["SPACEPORT_KEEP_E2E"]) rmSync(work, { recursive: true, force: true });
});

function expectDelivered(name: string): void {
  const status = finished[name]!;
  expect({ name, state: status.state, failure: status.failure }).toEqual({ name, state: "succeeded", failure: undefined });
  expect(status.stages.map((s) => s.state)).toEqual(["succeeded", "succeeded", "succeeded"]);
  expect(status.delivery?.["viewer"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.+\/delivery\/index\.html$/);
}

/** The viewer link in the job's one email. */
function emailedViewerLink(name: string): string {
  const jobId = jobs[name]!;
  const emails = server.emailsFor(jobId).map(emailText);
  expect(emails).toHaveLength(1);
  const link = /https?:\/\/[^\s"'<>]+\/delivery\/index\.html/.exec(emails[0]!)?.[0];
  expect(link).toBeDefined();
  expect(link).toContain(jobId);
  return link!;
}

async function expectRenders(link: string): Promise<void> {
  if (!chromiumPath()) throw new Error("chromium is required for the viewer check (npm test installs it)");
  const capture = await captureUrl(link, { timeoutMs: 120_000 });
  expect(capture.consoleErrors).toEqual([]);
  // Splats drawn: a blank canvas or an error page has almost no variance or colours.
  expect(capture.stats.variance).toBeGreaterThan(200);
  expect(capture.stats.distinctColors).toBeGreaterThan(100);
}

async function expectViewerRendersFromEmail(name: string): Promise<void> {
  const link = emailedViewerLink(name);
  // The emailed link itself, served by `spaceport dev`'s own /files (as the buyer opens it).
  expect(link.startsWith(`${server.baseUrl}/files/`)).toBe(true);
  await expectRenders(link);
}

/** `spaceport open <id>` in a child process: resolves with its printed viewer URL and a stop function. */
async function spaceportOpen(jobId: string, dataDir: string): Promise<{ viewer: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "stages/cli.ts", "open", jobId, "--data-dir", dataDir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const viewer = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`spaceport open printed no viewer URL:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /viewer:\s+(http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`spaceport open exited (${code}):\n${output}`)));
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  };
  return { viewer, stop };
}


describe("generated survey, end to end", () => {
  it("succeeds with every photo placed close to the truth", () => {
    expectDelivered("survey");
    const folder = server.jobFolder(jobs["survey"]!);
    const evaluation = JSON.parse(python(["tests/e2e/evaluate_sfm.py", "--sfm", join(folder, "sfm"), "--truth", join(work, "survey", "truth.json")])) as {
      placed: number;
      total: number;
      rmse_relative: number;
    };
    expect(evaluation.placed).toBe(evaluation.total);
    expect(evaluation.rmse_relative).toBeLessThan(SURVEY_POSITION_RMSE);
  });

  it("trains to a held-out PSNR above the floor and compresses at least 10x", () => {
    const folder = server.jobFolder(jobs["survey"]!);
    const { ply, metrics } = modelFiles(folder);
    expect(Number(metrics["psnr"] ?? (metrics["held_out"] as Record<string, unknown>)?.["psnr"])).toBeGreaterThan(PSNR_FLOOR_DB);
    const sog = statSync(join(folder, "delivery", "scene.sog")).size;
    expect(ply / sog).toBeGreaterThanOrEqual(10);
  });

  it("emails a viewer link that renders in headless Chromium", async () => {
    await expectViewerRendersFromEmail("survey");
  }, 180_000);
});

(haveCaliterra ? describe : describe.skip)("caliterra, 16 photos at 800x600, preview quality", () => {
  it("places nearly all photos and delivers a viewer that renders", async () => {
    expectDelivered("caliterra");
    const report = JSON.parse(readFileSync(join(server.jobFolder(jobs["caliterra"]!), "sfm", "report.json"), "utf8")) as { photos_placed: number };
    expect(report.photos_placed).toBeGreaterThanOrEqual(15);
    const { metrics } = modelFiles(server.jobFolder(jobs["caliterra"]!));
    expect(Number(metrics["psnr"] ?? (metrics["held_out"] as Record<string, unknown>)?.["psnr"])).toBeGreaterThan(PSNR_FLOOR_DB);
    await expectViewerRendersFromEmail("caliterra");
  }, 180_000);
});

describe("bad inputs fail with a plain reason and lose nothing", () => {
  it.each([
    ["unrelated", /placed|overlap/i],
    ["no-images", /no JPEG, PNG or TIFF photos|0 usable photo/i],
    ["not-a-zip", /not a (valid )?zip/i],
  ])("%s", (name, reason) => {
    const status = finished[name]!;
    expect(status.state).toBe("failed");
    expect(status.failure?.stage).toBe("sfm");
    expect(status.failure?.reason).toMatch(reason);
    const emails = server.emailsFor(jobs[name]!).map(emailText);
    expect(emails).toHaveLength(1);
    expect(emails[0]).toMatch(reason);
    // The input is still there, and nothing claims to be a delivery.
    const folder = server.jobFolder(jobs[name]!);
    expect(readdirSync(join(folder, "input")).length).toBe(1);
    expect(existsSync(join(folder, "delivery", "index.html"))).toBe(false);
  });

  it("leaves no job running", async () => {
    for (const id of Object.values(jobs)) expect(["succeeded", "failed"]).toContain((await server.status(id)).state);
  });
});

describe("after the server has stopped", () => {
  it("the emailed link works again with spaceport open, at the same address", async () => {
    const link = emailedViewerLink("survey");
    await server.stop();
    const opened = await spaceportOpen(jobs["survey"]!, server.dataDir);
    try {
      expect(opened.viewer).toBe(link);
      await expectRenders(link);
    } finally {
      await opened.stop();
    }
  }, 180_000);
});
