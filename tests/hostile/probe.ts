/**
 * `npm run test:hostile`: a bounded probe of `spaceport dev` as an attacker and an unlucky
 * operator would try it (auth, bodies, traversal, input URLs, archives, double and repeated
 * submissions, cut-off uploads, SMTP refusals, a killed stage, a killed runtime, a burst of
 * load). Prints one totals line and exits 1 on any 5xx, crash, lost input, wrong photo count,
 * untold submitter or unexpected answer. Its jobs are tiny and fail fast in SfM.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request as httpRequest } from "node:http";
import { JobStore } from "../../pipeline/local/store.js";
import { API_KEY, Dev, noisePhotos, sha256, stagePid, startSmtp, Totals, until, writeConfig, zipOf } from "./kit.js";

const PROCESSING = "spaceport-dev-processing";
const UPLOADS = "spaceport-dev-uploads";

interface Job {
  readonly id: string;
  readonly email: string;
  readonly reason: RegExp;
  readonly photos?: number;
}

const SLIP_PLACEHOLDER = "xx/xx/xx/evil.jpg";
const totals = new Totals();
const dir = mkdtempSync(join(tmpdir(), "spaceport-hostile-"));
const data = join(dir, "data");
const jobs: Job[] = [];
const uploads = new Map<string, string>(); // s3 URI -> sha256 of what was uploaded
const refuseOnce = new Set<string>(); // addresses whose next delivery attempt is refused
const smtp = await startSmtp({ rejectRecipient: (address) => refuseOnce.delete(address) });
writeConfig(join(dir, "Pulumi.dev.yaml"));
const dev = new Dev(totals, ["--data-dir", data, "--env", "dev", "--config", join(dir, "Pulumi.dev.yaml")], { SPACEPORT_SMTP_URL: smtp.url });

async function upload(name: string, bytes: Buffer): Promise<string> {
  const input = await dev.upload(name, bytes);
  uploads.set(input, sha256(bytes));
  return input;
}

async function submit(input: string, email: string, reason: RegExp, photos?: number, headers: Record<string, string> = {}): Promise<string> {
  const answer = await dev.json("/jobs", { input, email, options: { quality: "preview" } }, headers);
  totals.expect(answer.status === 202, `POST /jobs for ${email}: ${answer.status} ${answer.text.slice(0, 200)}`);
  const id = (answer.body as { jobId: string }).jobId;
  jobs.push({ id, email, reason, ...(photos !== undefined ? { photos } : {}) });
  return id;
}

function expectStatus(answer: { status: number; text: string }, statuses: number[], what: string): void {
  totals.expect(statuses.includes(answer.status), `${what}: ${answer.status} (expected ${statuses.join("/")}) ${answer.text.slice(0, 160).replace(/[^\x20-\x7e]/g, ".")}`);
}

async function authAndBodies(): Promise<void> {
  const noKey = await dev.request("/jobs", { method: "POST", auth: false, headers: { "content-type": "application/json" }, body: "{}" });
  expectStatus(noKey, [401], "no API key");
  for (const authorization of ["Bearer wrong", `Bearer ${API_KEY}x`, `Basic ${API_KEY}`, "Bearer ", `bearer  ${API_KEY} extra`]) {
    expectStatus(await dev.request("/jobs/20261201-000000-00000000", { headers: { authorization } }), [401], `authorization "${authorization.slice(0, 20)}"`);
  }
  expectStatus(await dev.request("/uploads/x.zip", { method: "PUT", auth: false, body: "x" }), [401], "upload without a key");
  const bodies: [string, string | Uint8Array<ArrayBuffer>, number, string][] = [
    ["16,386 bytes", new Uint8Array(16_386).fill(0x20), 413, "body"],
    ["20 MB", new Uint8Array(20 * 1024 * 1024).fill(0x7b), 413, "body"],
    ["nested 5,000 deep", "[".repeat(5000) + "]".repeat(5000), 400, "body"],
    ["not JSON", "{", 400, "body"],
    ["empty", "", 400, "body"],
    ["an array", "[]", 400, "body"],
    ["__proto__", '{"__proto__":{"x":1},"input":"s3://a/b.zip","email":"a@b.co"}', 400, "__proto__"],
    ["bad UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 400, "body"],
  ];
  for (const [what, body, status, field] of bodies) {
    const answer = await dev.request("/jobs", { method: "POST", headers: { "content-type": "application/json" }, body });
    expectStatus(answer, [status], `body ${what}`);
    totals.expect(answer.body?.error?.field === field, `body ${what}: field ${answer.body?.error?.field}, expected ${field}`);
  }
  expectStatus(await dev.request("/jobs", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }), [415], "wrong content type");
  expectStatus(await dev.request("/jobs", { method: "DELETE" }), [405], "DELETE /jobs");
  expect400Field(await dev.request("/uploads/%E0%A4%A.zip", { method: "PUT", body: "x" }), "path", "bad %-escape in an upload path");
}

function expect400Field(answer: { status: number; body: any; text: string }, field: string, what: string): void {
  expectStatus(answer, [400], what);
  totals.expect(answer.body?.error?.field === field, `${what}: field ${answer.body?.error?.field}, expected ${field}`);
}

async function inputsAndTraversal(input: string): Promise<void> {
  const bad = [
    "s3://spaceport-dev-uploads/../secret.zip", "s3://spaceport-dev-uploads/a/%2e%2e/b.zip", "s3://other-bucket/x.zip",
    "https://169.254.169.254/latest/meta-data.zip", "file:///etc/passwd", "s3://spaceport-dev-uploads/a\u0000.zip",
    "https://spaceport-dev-uploads.s3.amazonaws.com/..%2f..%2fx.zip", "s3://spaceport-dev-uploads/missing.zip", "x".repeat(5000),
  ];
  for (const text of bad) {
    const answer = await dev.json("/jobs", { input: text, email: "t@example.com" });
    expectStatus(answer, [400, 403], `input ${text.slice(0, 50)}`);
  }
  expect400Field(await dev.json("/jobs", { input, email: "not an email" }), "email", "bad email");
  expect400Field(await dev.json("/jobs", { input, email: "a@b.co", options: { quality: "ultra" } }), "options.quality", "unknown quality");
  for (const name of ["..%2f..%2fevil.zip", "a%2fb.zip", ".hidden.zip", "x.exe"]) {
    expectStatus(await dev.request(`/uploads/${name}`, { method: "PUT", body: "PK" }), [400, 404], `upload name ${name}`);
  }
  const key = input.slice(`s3://${UPLOADS}/`.length);
  const records = readdirSync(join(data, "buckets", PROCESSING, "idempotency"));
  const hidden = [
    `/files/${UPLOADS}/${key}`, `/files/${PROCESSING}/idempotency/${records[0]}`, `/files/${PROCESSING}/jobs/${jobs[0]!.id}/input/photos.zip`,
    `/files/${PROCESSING}/jobs/${jobs[0]!.id}/delivery/..%2finput%2fphotos.zip`, "/files/..%2f..%2fapi-key", `/files/${PROCESSING}/../../api-key`,
    "/files/%00", `/jobs/..%2f..%2fapi-key`, "/jobs/%E0%A4%A",
  ];
  for (const path of hidden) expectStatus(await dev.request(path, { auth: path.startsWith("/jobs") }), [400, 404], `GET ${path.slice(0, 60)}`);
}

async function cutOffUpload(): Promise<void> {
  totals.tries++;
  const before = readdirSync(join(data, "buckets", UPLOADS, "local")).length;
  await new Promise<void>((resolve) => {
    const req = httpRequest(`${dev.baseUrl}/uploads/cut.zip`, { method: "PUT", headers: { authorization: `Bearer ${API_KEY}`, "content-length": String(1024 * 1024) } });
    req.on("error", () => resolve());
    req.on("close", () => resolve());
    req.write(Buffer.alloc(100 * 1024, 1), () => setTimeout(() => req.destroy(), 200));
  });
  await new Promise((r) => setTimeout(r, 300));
  totals.expect(readdirSync(join(data, "buckets", UPLOADS, "local")).length === before, "an upload cut off after 100 KB left an object behind");
}

async function archives(photos: Buffer[]): Promise<void> {
  const inner = await zipOf({ "a.jpg": photos[0]!, "b.jpg": photos[1]!, "c.jpg": photos[2]! });
  const cases: [string, Record<string, Buffer>, RegExp][] = [
    ["bomb.zip", { "a.jpg": photos[0]!, "b.jpg": photos[1]!, "zeros.jpg": Buffer.alloc(64 * 1024 * 1024) }, /entry 'zeros\.jpg'.*ZIP bomb/i],
    ["nested.zip", { "photos/inner.zip": inner }, /Archives inside the ZIP are not opened \(photos\.zip:photos\/inner\.zip\)/],
    ["slip.zip", { "a.jpg": photos[0]!, [SLIP_PLACEHOLDER]: photos[1]! }, /outside its folder/],
    ["docs.zip", { "readme.txt": Buffer.from("hello") }, /no JPEG, PNG or TIFF photos/],
  ];
  for (const [name, entries, reason] of cases) {
    // ZIP writers refuse "../" names: the entry is renamed in place (same length, CRCs unchanged).
    const bytes = Buffer.from((await zipOf(entries)).toString("latin1").replaceAll(SLIP_PLACEHOLDER, "../../../evil.jpg"), "latin1");
    await submit(await upload(name, bytes), `${name}@example.com`, reason);
  }
  await submit(await upload("notzip.zip", Buffer.from("PK\x03\x04 not really a zip")), "notzip@example.com", /not a readable ZIP/);
}

/** Five identical submissions at once: one job, whose SfM gets exactly the photos sent. */
async function doubleSubmission(photos: Buffer[]): Promise<void> {
  const input = await upload("double.zip", await zipOf({ "p0.jpg": photos[0]!, "p1.jpg": photos[1]!, "p2.jpg": photos[2]! }));
  const body = { input, email: "double@example.com", options: { quality: "preview" } };
  const answers = await Promise.all(Array.from({ length: 5 }, () => dev.json("/jobs", body)));
  const ids = new Set(answers.map((a) => (a.body as { jobId?: string })?.jobId));
  totals.expect(ids.size === 1, `five identical submissions made ${ids.size} jobs`);
  for (const id of ids) if (id) jobs.push({ id, email: "double@example.com", reason: /could be placed/, photos: 3 });
}

/** Jobs waiting for the one SfM instance start in the order they were submitted. */
async function fifo(): Promise<string[]> {
  const ids: string[] = [];
  const bytes = await zipOf({ "readme.txt": Buffer.from("no photos here") });
  for (let i = 0; i < 4; i++) {
    ids.push(await submit(await upload(`fifo-${i}.zip`, bytes), `fifo${i}@example.com`, /no JPEG, PNG or TIFF photos/));
    await new Promise((r) => setTimeout(r, 300));
  }
  return ids;
}

async function main(): Promise<void> {
  await dev.start();
  const photos = noisePhotos(dir, 3);
  refuseOnce.add("nested.zip@example.com"); // its failure email is refused once: the state machine retries
  await archives(photos);
  await authAndBodies();
  await inputsAndTraversal([...uploads.keys()][0]!);
  await cutOffUpload();
  await doubleSubmission(photos);
  const order = await fifo();
  await Promise.all([killedStage(photos), load()]);
  await settle(180_000);
  await resubmissions();
  await crashRecovery(photos);
  await settle(120_000);
  checkFifo(order);
  await checkJobs();
  await dev.stop("SIGINT");
}

async function killedStage(photos: Buffer[]): Promise<void> {
  const id = await submit(await upload("killed.zip", await zipOf({ "k0.jpg": photos[0]!, "k1.jpg": photos[1]!, "k2.jpg": photos[2]! })), "killed@example.com", /killed by SIGKILL \(out of memory\?\)/);
  totals.tries++;
  // As the kernel's OOM killer would: the stage program (entrypoint.sh execs Python) at once, mid-run.
  const pid = await until("the killed job's SfM to run", () => stagePid(`${id}-sfm-1`), 150_000);
  process.kill(pid, "SIGKILL");
}

async function load(): Promise<void> {
  const id = jobs[0]!.id;
  const answers = await Promise.all([
    ...Array.from({ length: 60 }, () => dev.request(`/jobs/${id}`)),
    ...Array.from({ length: 20 }, (_, i) => dev.json("/jobs", { input: `s3://${UPLOADS}/nope-${i}.zip`, email: "load@example.com" })),
  ]);
  totals.expect(answers.every((a) => a.status === 200 || a.status === 400 || a.status === 429), "a load answer was neither 200, 400 nor 429");
}

async function settle(timeoutMs: number): Promise<void> {
  await until("every job to end", async () => {
    for (const job of jobs) if (!["succeeded", "failed"].includes((await dev.status(job.id))?.state)) return false;
    return true;
  }, timeoutMs);
}

/** Submitting a failed job again reruns it, with or without an Idempotency-Key. */
async function resubmissions(): Promise<void> {
  const failed = jobs.find((j) => j.email === "docs.zip@example.com")!;
  const input = [...uploads.keys()].find((u) => u.endsWith("-docs.zip"))!;
  const again = await dev.json("/jobs", { input, email: failed.email, options: { quality: "preview" } });
  expectStatus(again, [202], "resubmitting a failed job");
  totals.expect(again.body?.rerunOf === failed.id, `a rerun names ${again.body?.rerunOf}, expected ${failed.id}`);
  if (again.body?.jobId) jobs.push({ ...failed, id: again.body.jobId });
  const keyed = { input, email: "keyed@example.com", options: { quality: "preview" } };
  const first = await dev.json("/jobs", keyed, { "idempotency-key": "probe-key-1" });
  const replay = await dev.json("/jobs", keyed, { "idempotency-key": "probe-key-1" });
  totals.expect(replay.body?.jobId === first.body?.jobId && replay.body?.replayed === true, `a repeat of a running job was not replayed: ${first.status} ${first.text.slice(0, 120)} / ${replay.status} ${replay.text.slice(0, 120)}`);
  if (first.body?.jobId) jobs.push({ id: first.body.jobId, email: keyed.email, reason: failed.reason });
  await settle(120_000);
  const rerun = await dev.json("/jobs", keyed, { "idempotency-key": "probe-key-1" });
  totals.expect(rerun.status === 202 && rerun.body?.rerunOf === first.body.jobId, `same key after a failure: ${rerun.status} ${rerun.text.slice(0, 120)}`);
  if (rerun.body?.jobId) jobs.push({ id: rerun.body.jobId, email: keyed.email, reason: failed.reason });
  await settle(120_000);
}

/** The runtime is killed mid-job; its restart fails the job, and the refused email is retried until sent. */
async function crashRecovery(photos: Buffer[]): Promise<void> {
  const id = await submit(await upload("crash.zip", await zipOf({ "c0.jpg": photos[0]!, "c1.jpg": photos[1]!, "c2.jpg": photos[2]! })), "crash@example.com", /the local runtime stopped/);
  await until("the crash job's SfM to run", () => stagePid(`${id}-sfm-1`), 60_000);
  totals.tries++;
  await dev.stop("SIGKILL");
  refuseOnce.add("crash@example.com");
  await dev.start();
  totals.expect(/recovered job .*retrying with backoff/.test(dev.output), "the restart did not say the recovery email is being retried");
  const status = await dev.status(id);
  totals.expect(status?.notification === "retrying", `after a refused recovery email, notification is ${status?.notification}`);
  totals.expect(/the local runtime stopped/.test(status?.failure?.reason ?? ""), `recovered job's reason: ${status?.failure?.reason}`);
}

function checkFifo(order: string[]): void {
  const store = new JobStore(join(data, "spaceport.db"));
  try {
    const created = (id: string) => store.sageMakerJobsOf(id).find((j) => j.stage === "sfm")?.created.getTime() ?? Infinity;
    const started = [...order].sort((a, b) => created(a) - created(b));
    totals.tries++;
    totals.expect(started.join() === order.join(), `jobs waiting for the quota started out of order: ${started.map((id) => order.indexOf(id) + 1).join(",")}`);
  } finally {
    store.close();
  }
}

/** Every job: the expected reason, its submitter told (state and an email), its input kept, its photos counted right. */
async function checkJobs(): Promise<void> {
  for (const job of jobs) {
    const told = await until(`job ${job.id}'s notification`, async () => {
      const status = await dev.status(job.id);
      return status?.notification === "sent" || status?.notification === "failed" ? status : false;
    }, 90_000).catch(() => undefined);
    const status = told ?? (await dev.status(job.id));
    totals.expect(job.reason.test(status?.failure?.reason ?? ""), `job ${job.email}: reason "${status?.failure?.reason}" does not match ${job.reason}`);
    const mailed = smtp.messages.some((m) => m.to.includes(job.email) && m.text.includes(job.id));
    if (status?.notification !== "sent" || !mailed) {
      totals.untold++;
      process.stderr.write(`not told: job ${job.id} (${job.email}): notification ${status?.notification}, email ${mailed ? "received" : "missing"}\n`);
    }
    if (!existsSync(join(data, "buckets", PROCESSING, "jobs", job.id, "input", "photos.zip"))) totals.inputsLost++;
    if (job.photos !== undefined) checkPhotoCount(job);
  }
  for (const [uri, hash] of uploads) {
    const file = join(data, "buckets", ...uri.slice("s3://".length).split("/"));
    if (!existsSync(file) || sha256(readFileSync(file)) !== hash) totals.inputsLost++;
  }
}

function checkPhotoCount(job: Job): void {
  const optMl = join(data, "sagemaker", `${job.id}-sfm-1`, "opt", "ml", "processing");
  const given = existsSync(join(optMl, "input", "photos")) ? readdirSync(join(optMl, "input", "photos")) : [];
  const report = join(optMl, "output", "sfm", "report.json");
  const received = existsSync(report) ? (JSON.parse(readFileSync(report, "utf8")) as { photos_received?: number }).photos_received : undefined;
  if (given.join() !== "photos.zip" || received !== job.photos) {
    totals.wrongPhotoCount++;
    process.stderr.write(`wrong photo count: job ${job.id}: input ${given.join(", ")}, photos received ${received}, sent ${job.photos}\n`);
  }
}

const started = Date.now();
try {
  await main();
} catch (error) {
  totals.expect(false, `the probe could not finish: ${(error as Error).message}`);
  await dev.stop("SIGKILL").catch(() => {});
} finally {
  await smtp.close();
}
for (const line of totals.unexpected) process.stderr.write(`unexpected: ${line}\n`);
console.log(`${totals.line()} (${Math.round((Date.now() - started) / 1000)} s)`);
if (totals.failed) process.stderr.write(`data kept for a look: ${dir}\n`);
else rmSync(dir, { recursive: true, force: true });
process.exit(totals.failed ? 1 : 0);
