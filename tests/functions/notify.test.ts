import { describe, expect, it } from "@jest/globals";
import { estimateCost } from "../../pipeline/cost.js";
import { seconds } from "../../pipeline/duration.js";
import { spaceport } from "../../stages/spaceport.js";
import { notify, type NotifyDeps } from "../../functions/notify/handler.js";
import { MAX_NOTIFY_ATTEMPTS, notificationKey, readNotification } from "../../functions/notify/state.js";
import { failureAdvice, failureReason } from "../../functions/failure.js";
import { FakeExecutions, MemoryStore, PROCESSING, RecordingLogger, RecordingMailer, testConfig } from "./helpers.js";
import { JOB, Script, processingCause, trainingCause } from "./scripts.js";

const EMAIL = "jane.doe@example.com";
const DELIVERY = `https://d123.cloudfront.net/jobs/${JOB}/delivery/`;

function setup(mailer = new RecordingMailer()) {
  const store = new MemoryStore();
  store.add(PROCESSING, `jobs/${JOB}/sfm/report.json`, 0, JSON.stringify({ status: "succeeded", photos_received: 75, photos_usable: 74, photos_placed: 72 }));
  store.add(PROCESSING, `jobs/${JOB}/delivery/report.json`, 0, JSON.stringify({
    stage: "compressor", gaussians: { input: 1_400_000, delivered: 1_234_567, removed: {} }, output: { sogBytes: 999 },
    quality: { psnrDb: 26.31, ssim: 0.83, views: 9, grade: "sharp" },
    georeference: { frame: "enu", metric: true, rms_m: 0.4, extent_m: 120, origin: { lat: 37.774929, lon: -122.419416 } },
  }));
  store.add(PROCESSING, `jobs/${JOB}/delivery/scene.sog`, 12_900_000);
  const executions = new FakeExecutions();
  const script = new Script().begin();
  for (const [stage, s] of [["sfm", 1196], ["gaussian-splatting", 5396], ["compressor", 596]] as const) script.run(stage).submitted().succeed(stage, s);
  script.notify("succeeded");
  executions.records.set(JOB, script.record("RUNNING"));
  executions.histories.set(JOB, script.events);
  const logger = new RecordingLogger();
  const metrics: string[] = [];
  const deps: NotifyDeps = { store, mailer, executions, log: logger.log, metric: (line) => metrics.push(line), now: () => new Date(script.now.getTime() + 5000) };
  return { store, mailer, executions, logger, metrics, deps, config: testConfig() };
}

const success = { jobId: JOB, email: EMAIL, options: { quality: "standard" }, stages: {}, pipeline: "spaceport-ml", status: "succeeded", deliveryUri: `s3://${PROCESSING}/jobs/${JOB}/delivery/` };
const failure = (stage: string, error: string, cause: string) => ({
  jobId: JOB, email: EMAIL, options: { quality: "standard" }, stages: {}, pipeline: "spaceport-ml", status: "failed",
  failure: { stage, error: { Error: error, Cause: cause } },
});

function links(email: { html: string; text: string }): string[] {
  const html = [...email.html.matchAll(/(?:href|src)="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, "&"));
  const text = [...email.text.matchAll(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi)].map((m) => m[0]);
  return [...html, ...text];
}

describe("notify: success email", () => {
  it("locally the links work while served; a report without quality or GPS adds no such rows", async () => {
    const t = setup();
    t.store.add(PROCESSING, `jobs/${JOB}/delivery/report.json`, 0, JSON.stringify({ output: { sogBytes: 999 }, georeference: { frame: "arbitrary", metric: false } }));
    await notify(success, t.deps, { ...t.config, linksWhileServed: true });
    const email = t.mailer.sent[0]!;
    expect(email.text).toContain("The links work while this machine serves them");
    expect(email.text).not.toContain("days");
    expect(email.text).not.toMatch(/Held-out quality|Site:/);
    expect(email.html).toContain(`<img src="${DELIVERY}thumbnail.jpg"`);
  });

  it("renders the viewer, preview, counts, durations and cost", async () => {
    const t = setup();
    const result = await notify(success, t.deps, t.config);
    expect(result).toEqual({ jobId: JOB, status: "succeeded", sent: true, messageId: "msg-1" });
    expect(t.mailer.sent).toHaveLength(1);
    const email = t.mailer.sent[0]!;
    expect(email.to).toBe(EMAIL);
    expect(email.jobId).toBe(JOB);
    expect(email.subject).toBe(`Your 3D model is ready (job ${JOB})`);
    expect(email.text).toContain(`Open it in your browser: ${DELIVERY}index.html`);
    expect(email.text).toContain("Photos received: 75");
    expect(email.text).toContain("Photos used: 72");
    expect(email.text).toContain("Gaussians: 1,234,567");
    expect(email.text).toContain("File size: 12.3 MB");
    expect(email.text).toContain("3D model training (Gaussian splatting): 1 h 30 min");
    // This job made no preview (no preview run in its history): its cost has no preview run.
    const cost = estimateCost(spaceport, t.config.env, { durations: { sfm: seconds(1200), "gaussian-splatting": seconds(5400), compressor: seconds(600) }, preview: false });
    expect(email.text).toContain(`Estimated compute cost: $${cost.totalUsd.toFixed(2)}`);
    // what the buyer gets: a thumbnail small enough for email, the held-out quality in words,
    // where the site is, the file size and how long the links work
    expect(email.html).toContain(`<img src="${DELIVERY}thumbnail.jpg"`);
    expect(email.text).toContain("Held-out quality: sharp (26.3 dB PSNR on 9 held-out photos)");
    expect(email.text).toContain("Site: 37.77493° N, 122.41942° W");
    expect(email.text).toContain("Quality preset: standard");
    expect(email.text).toContain("The links work for 90 days.");
    expect({ subject: email.subject, text: email.text, html: email.html }).toMatchSnapshot();
  });

  it("every link is absolute and points into the job's delivery", async () => {
    const t = setup();
    await notify(success, t.deps, t.config);
    const found = links(t.mailer.sent[0]!);
    expect(found.length).toBeGreaterThanOrEqual(6);
    for (const link of found) {
      expect(new URL(link).protocol).toBe("https:");
      expect(link.startsWith(DELIVERY)).toBe(true);
    }
  });

  it("logs carry the job id and never the address", async () => {
    const t = setup();
    await notify(success, t.deps, t.config);
    expect(t.logger.lines.find((l) => l.event === "email_sent")?.fields).toMatchObject({ jobId: JOB, email: "j***@e***.com" });
    expect(t.logger.text()).not.toContain("jane.doe");
    expect(t.logger.text()).not.toContain("example.com");
  });

  it("missing reports leave the counts out but still send the links", async () => {
    const t = setup();
    t.store.objects.clear();
    const { executions, ...rest } = t.deps;
    await notify(success, rest, t.config);
    const email = t.mailer.sent[0]!;
    expect(email.text).toContain(`${DELIVERY}index.html`);
    expect(email.text).not.toMatch(/Photos received|Gaussians|File size/);
    expect(email.text).toMatch(/Estimated compute cost: \$\d+\.\d\d/); // from the stages' expected durations
  });

  it("a retried invocation does not mail twice", async () => {
    const t = setup();
    await notify(success, t.deps, t.config);
    const again = await notify(success, t.deps, t.config);
    expect(again.sent).toBe(false);
    expect(t.mailer.sent).toHaveLength(1);
    expect(t.store.objects.has(`${PROCESSING}/${notificationKey(JOB, "succeeded")}`)).toBe(true);
  });

  it("a retried job's round mails its own outcome, once, under its own record", async () => {
    const t = setup();
    const failed = failure("gaussian-splatting", "States.TaskFailed", trainingCause("AlgorithmError: out of memory"));
    expect((await notify(failed, t.deps, t.config)).sent).toBe(true);
    expect((await notify({ ...failed, redriveCount: 1 }, t.deps, t.config)).sent).toBe(true);
    expect((await notify({ ...failed, redriveCount: 1 }, t.deps, t.config)).sent).toBe(false);
    expect(t.mailer.sent).toHaveLength(2);
    expect(await readNotification(t.store, PROCESSING, JOB, "failed", 1)).toMatchObject({ state: "sent", attempts: 1 });
    expect(t.store.objects.has(`${PROCESSING}/${notificationKey(JOB, "failed", 1)}`)).toBe(true);
  });

  it("a delivery URI that is not the job's is refused", async () => {
    const t = setup();
    await expect(notify({ ...success, deliveryUri: `s3://${PROCESSING}/jobs/20261126-000000-00000000/delivery/` }, t.deps, t.config)).rejects.toThrow(/not this job's delivery/);
    expect(t.mailer.sent).toHaveLength(0);
  });
});

describe("notify: failure email", () => {
  it("gives the stage's plain reason and what to do", async () => {
    const t = setup();
    const reason = "only 3 of 40 photos could be placed; fly with at least 70% forward and 60% side overlap";
    await notify(failure("sfm", "States.TaskFailed", processingCause(reason)), t.deps, t.config);
    const email = t.mailer.sent[0]!;
    expect(email.subject).toBe(`Your 3D model could not be made (job ${JOB})`);
    expect(email.text).toContain(`What went wrong: ${reason}`);
    expect(email.text).toMatch(/What to do: Check the ZIP: JPEG photos .*overlap/);
    expect(email.html).not.toMatch(/AlgorithmError|States\.TaskFailed/);
    expect(links(email)).toEqual([]);
    expect({ subject: email.subject, text: email.text, html: email.html }).toMatchSnapshot();
  });

  it("escapes HTML in reasons", async () => {
    const t = setup();
    await notify(failure("gaussian-splatting", "States.TaskFailed", trainingCause("AlgorithmError: bad <script>alert(1)</script> & more")), t.deps, t.config);
    const email = t.mailer.sent[0]!;
    expect(email.html).toContain("bad &lt;script&gt;alert(1)&lt;/script&gt; &amp; more");
    expect(email.html).not.toContain("<script>");
    expect(email.text).toContain("What went wrong: bad <script>alert(1)</script> & more");
  });

  it("a send failure is logged as an error with a metric, and rethrown; outputs stay", async () => {
    const t = setup(new RecordingMailer(Object.assign(new Error("Email address is not verified"), { name: "MessageRejected" })));
    const before = new Map(t.store.objects);
    await expect(notify(success, t.deps, t.config)).rejects.toMatchObject({ name: "Spaceport.EmailNotSent", message: expect.stringMatching(/not verified/) });
    const error = t.logger.lines.find((l) => l.level === "error");
    expect(error).toMatchObject({ event: "email_send_failed", fields: { jobId: JOB, error: "MessageRejected" } });
    expect(t.metrics).toHaveLength(1);
    const metric = JSON.parse(t.metrics[0]!);
    expect(metric._aws.CloudWatchMetrics[0]).toEqual({ Namespace: "Spaceport", Dimensions: [["Environment"]], Metrics: [{ Name: "EmailSendFailures", Unit: "Count" }] });
    expect(metric.EmailSendFailures).toBe(1);
    for (const [key, value] of before) expect(t.store.objects.get(key)).toEqual(value);
    // A later retry may send: the record says retrying, not sent.
    expect(await readNotification(t.store, PROCESSING, JOB, "succeeded")).toMatchObject({ state: "retrying", attempts: 1, lastError: "Email address is not verified" });
  });

  it("counts attempts: retrying until the last, then failed; a later success is sent once", async () => {
    const rejecting = new RecordingMailer(Object.assign(new Error("Can't send mail - all recipients were rejected: 550 5.1.1"), { name: "Error" }));
    const t = setup(rejecting);
    for (let attempt = 1; attempt <= MAX_NOTIFY_ATTEMPTS; attempt++) {
      await expect(notify(success, t.deps, t.config)).rejects.toThrow(/could not be sent/);
      expect((await readNotification(t.store, PROCESSING, JOB, "succeeded"))?.state).toBe(attempt < MAX_NOTIFY_ATTEMPTS ? "retrying" : "failed");
    }
    const working = new RecordingMailer();
    const later = { ...t.deps, mailer: working };
    await notify(success, later, t.config);
    await notify(success, later, t.config);
    expect(working.sent).toHaveLength(1);
    expect(await readNotification(t.store, PROCESSING, JOB, "succeeded")).toMatchObject({ state: "sent", attempts: MAX_NOTIFY_ATTEMPTS + 1 });
  });

  it("an invalid payload is refused naming the field", async () => {
    const t = setup();
    await expect(notify({ ...success, jobId: "../../x" }, t.deps, t.config)).rejects.toThrow(/jobId/);
    await expect(notify({ ...success, email: "nope" }, t.deps, t.config)).rejects.toThrow(/email/);
    await expect(notify({ ...success, status: "maybe" }, t.deps, t.config)).rejects.toThrow(/status/);
    expect(t.mailer.sent).toHaveLength(0);
  });
});

describe("failure reasons", () => {
  const cases: [string | undefined, string | undefined, string | RegExp][] = [
    ["States.TaskFailed", processingCause("photos ZIP is not a valid ZIP archive"), "photos ZIP is not a valid ZIP archive"],
    ["States.TaskFailed", trainingCause("AlgorithmError: out of GPU memory; try quality \"preview\", exit code: 1"), 'out of GPU memory; try quality "preview"'],
    ["States.TaskFailed", JSON.stringify({ ProcessingJobStatus: "Failed", FailureReason: "AlgorithmError: See job logs for more information" }), /gave no reason/],
    ["States.TaskFailed", "plain text cause", "plain text cause"],
    ["States.Timeout", undefined, /time limit/],
    ["SageMaker.ResourceLimitExceeded", "limit", /quota/],
    ["Lambda.Unknown", "", /Lambda\.Unknown/],
    [undefined, "x".repeat(5000), /^x{1023}…$/],
    ["States.TaskFailed", "{not json", "{not json"],
  ];
  it.each(cases)("%s", (error, cause, expected) => {
    const reason = failureReason(error, cause);
    if (typeof expected === "string") expect(reason).toBe(expected);
    else expect(reason).toMatch(expected);
  });
});

describe("failure advice fits the failure and the job", () => {
  it("a crash of the runtime is not a problem with the ZIP", () => {
    const advice = failureAdvice(spaceport, "sfm", "Spaceport.RuntimeStopped", "the local runtime stopped (process 7 exited) while this job was running in stage sfm");
    expect(advice).toMatch(/on our side, not with your photos/);
    expect(advice).not.toMatch(/Check the ZIP/);
  });

  it("no \"try preview\" for a job that already ran at preview", () => {
    for (const [stage, error, reason] of [
      ["gaussian-splatting", "States.TaskFailed", "training diverged"],
      ["compressor", "States.Timeout", ""],
      ["gaussian-splatting", "States.TaskFailed", "stage gaussian-splatting was killed by SIGKILL (out of memory?) without writing a reason"],
    ] as const) {
      expect(failureAdvice(spaceport, stage, error, reason, { quality: "preview" })).not.toMatch(/preview/);
      expect(failureAdvice(spaceport, stage, error, reason, { quality: "standard" })).toMatch(/preview/);
    }
  });

  it("a stage killed for memory says so instead of blaming the photos", () => {
    expect(failureAdvice(spaceport, "sfm", "States.TaskFailed", "stage sfm was killed by SIGKILL (out of memory?) without writing a reason")).toMatch(/ran out of memory/);
  });
});
