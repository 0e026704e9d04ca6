/**
 * A tiny three-stage pipeline whose stage programs are shell scripts written by each test into
 * a temporary folder (not the real images): prep (processing) → train (training) → pack
 * (processing, the delivery). Scripts follow the container contract (images/README.md).
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { crc32 } from "node:zlib";
import type { SMTPServer as SMTPServerType } from "smtp-server";
import {
  definePipeline,
  image,
  jobInput,
  jobOption,
  parseEnvironmentConfig,
  processingStage,
  seconds,
  trainingStage,
  type EnvironmentConfig,
} from "../../pipeline/index.js";
import { handlers } from "../../functions/handlers.js";
import { startLocalServices, type LocalServices } from "../../pipeline/local/services.js";

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `spaceport-${label}-`));
}

export interface StageScripts {
  prep?: string;
  train?: string;
  pack?: string;
}

/** Default programs: each reads its inputs, reports progress, writes its outputs. */
export const SCRIPTS: Required<StageScripts> = {
  prep: `
in="$SPACEPORT_OPT_ML/processing/input/photos"
out="$SPACEPORT_OPT_ML/processing/output/prepared"
echo "progress: 10% reading"
ls "$in" > "$out/listing.txt"
test -f "$in/photos.zip" || { echo "no photos.zip in the input" > "$SPACEPORT_OPT_ML/output/message"; exit 1; }
sleep \${PREP_SLEEP:-0}
echo "job=$SPACEPORT_JOB_ID" > "$out/job.txt"
echo "progress: 100% done"
`,
  train: `
cfg="$SPACEPORT_OPT_ML/input/config/hyperparameters.json"
cp "$cfg" "$SPACEPORT_OPT_ML/model/hyperparameters.json"
cp "$SPACEPORT_OPT_ML/input/data/prepared/listing.txt" "$SPACEPORT_OPT_ML/model/listing.txt"
echo "step=1/2 loss=0.5 psnr=20.0"
echo "progress: 50% training"
sleep \${TRAIN_SLEEP:-0}
echo "step=2/2 loss=0.25 psnr=24.5"
echo "eval step=2 held_out_psnr=19.5 held_out_ssim=0.6"
echo "checkpoint" > "$SPACEPORT_OPT_ML/checkpoints/step-2.txt"
echo "ply" > "$SPACEPORT_OPT_ML/model/point_cloud.ply"
echo "progress: 100% trained"
`,
  pack: `
in="$SPACEPORT_OPT_ML/processing/input/model/model.tar.gz"
out="$SPACEPORT_OPT_ML/processing/output/delivery"
mkdir -p "$out/unpacked"
tar -xzf "$in" -C "$out/unpacked"
echo "<html><body>viewer</body></html>" > "$out/index.html"
echo "sog" > "$out/scene.sog"
echo "webp" > "$out/preview.webp"
echo '{"gaussians": 3}' > "$out/report.json"
echo "progress: 100% packed"
`,
};

export function writeScript(dir: string, name: string, body: string): string {
  const path = join(dir, `${name}.sh`);
  writeFileSync(path, `#!/usr/bin/env bash\nset -euo pipefail\n${body}`);
  chmodSync(path, 0o755);
  return path;
}

export const quality = jobOption({ name: "quality", values: ["preview", "standard", "high"], default: "standard", description: "test preset" });

export interface TestPipelineOptions {
  timeouts?: { prep?: number; train?: number; pack?: number };
  environment?: Record<string, string>;
  /** train declares an early model (for standard and high), pack consumes it: a preview. */
  early?: boolean;
}

export function testPipeline(dir: string, scripts: StageScripts = {}, options: TestPipelineOptions = {}) {
  const all = { ...SCRIPTS, ...scripts };
  const entry = (name: keyof StageScripts) => writeScript(dir, name, all[name]);
  const environment = options.environment ?? {};
  const prep = processingStage({
    name: "prep",
    image: image("images/test-prep", { entrypoint: entry("prep") }),
    instance: { type: "ml.c6i.xlarge" },
    timeout: seconds(options.timeouts?.prep ?? 60),
    inputs: { photos: jobInput() },
    outputs: ["prepared"],
    environment,
  });
  const train = trainingStage({
    name: "train",
    image: image("images/test-train", { entrypoint: entry("train") }),
    instance: { type: "ml.g4dn.xlarge" },
    timeout: seconds(options.timeouts?.train ?? 60),
    spot: { maxWait: seconds(120) },
    inputs: { prepared: prep.output("prepared") },
    hyperparameters: { quality, steps: 2, verbose: true },
    // What the train script prints, as the real trainer does.
    metrics: [
      { name: "train:psnr", regex: "loss=[0-9.eE+-]+ psnr=([0-9.]+)" },
      { name: "held_out:psnr", regex: "held_out_psnr=([0-9.]+)" },
    ],
    environment,
    ...(options.early ? { earlyOutputs: { model: { description: "the model after the first step", when: { quality: ["standard", "high"] } } } } : {}),
  });
  const pack = processingStage({
    name: "pack",
    image: image("images/test-pack", { entrypoint: entry("pack") }),
    instance: { type: "ml.c6i.xlarge" },
    timeout: seconds(options.timeouts?.pack ?? 60),
    inputs: { model: train.output("model") },
    outputs: ["delivery"],
    // The files the pack script writes, as the status and the email link to them.
    links: { viewer: "index.html", scene: "scene.sog", preview: "preview.webp", report: "report.json" },
    environment,
    ...(options.early ? { earlyInputs: { model: train.earlyOutput("model") } } : {}),
  });
  return definePipeline({ name: "test-pipeline", stages: [prep, train, pack], delivery: pack.output("delivery") });
}

export function testConfig(processingQuota = 1): EnvironmentConfig {
  return parseEnvironmentConfig("test", {
    region: "us-west-2",
    quotas: [
      { instanceType: "ml.c6i.xlarge", jobKind: "processing", count: processingQuota },
      { instanceType: "ml.g4dn.xlarge", jobKind: "training", count: 1 },
      // The test pipeline's training stage asks for spot (checkpoints): the account has the quota.
      { instanceType: "ml.g4dn.xlarge", jobKind: "spot-training", count: 1 },
    ],
    sesSender: "jobs@spaceport.example.com",
    alarmEmail: "ops@spaceport.example.com",
    apiRateLimit: { ratePerSecond: 50, burst: 50, jobsPerDay: 1000 },
  });
}

/** The same config as a Pulumi stack file (for the CLI's --config). */
export function writeConfigFile(dir: string, processingQuota = 1): string {
  const path = join(dir, "Pulumi.test.yaml");
  writeFileSync(
    path,
    [
      "config:",
      "  aws:region: us-west-2",
      "  spaceport:quotas:",
      `    - { instanceType: ml.c6i.xlarge, jobKind: processing, count: ${processingQuota} }`,
      "    - { instanceType: ml.g4dn.xlarge, jobKind: training, count: 1 }",
      "  spaceport:sesSender: jobs@spaceport.example.com",
      "  spaceport:alarmEmail: ops@spaceport.example.com",
      "  spaceport:apiRateLimit: { ratePerSecond: 50, burst: 50, jobsPerDay: 1000 }",
      "",
    ].join("\n"),
  );
  return path;
}

/** A small, valid ZIP (one stored file) for submissions. */
export function writeZip(path: string): string {
  mkdirSync(join(path, ".."), { recursive: true });
  const name = Buffer.from("IMG_0001.jpg");
  const body = Buffer.from("not really a jpeg");
  const crc = crc32(body);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(body.length, 18);
  local.writeUInt32LE(body.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(body.length, 20);
  central.writeUInt32LE(body.length, 24);
  central.writeUInt16LE(name.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(local.length + name.length + body.length, 16);
  writeFileSync(path, Buffer.concat([local, name, body, central, name, end]));
  return path;
}

export interface ReceivedMail {
  readonly to: string[];
  readonly raw: string;
  /** Quoted-printable decoded text of the whole message. */
  readonly text: string;
}

/** A real SMTP server on 127.0.0.1 (smtp-server), collecting what it receives. */
export async function startSmtp(options: { rejectRecipient?: (address: string) => boolean } = {}): Promise<{ url: string; messages: ReceivedMail[]; waitFor: (n: number, timeoutMs?: number) => Promise<ReceivedMail[]>; close: () => Promise<void> }> {
  const { SMTPServer } = createRequire(import.meta.url)("smtp-server") as { SMTPServer: typeof SMTPServerType };
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipient?.(address.address)) return callback(Object.assign(new Error("5.1.1 mailbox unavailable"), { responseCode: 550 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, text: decodeQuotedPrintable(raw) });
        callback();
      });
    },
  });
  // A client that drops its connection (a dev server killed mid-send, as the hostile probe does)
  // is the client's failure, not the mail server's: without a listener it would crash the test.
  server.on("error", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(n, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} emails, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return messages;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function decodeQuotedPrintable(raw: string): string {
  return raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export async function until<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `spaceport dev` in `dir` on a free port over the test pipeline with these stage scripts, its
 * emails to `smtpUrl`, with short retry waits and no quota hold so a test takes seconds.
 */
export function startTestServices(
  dir: string,
  smtpUrl: string,
  scripts: StageScripts = {},
  waits: { emailMs?: number; stopGraceMs?: number } = {},
  pipelineOptions: TestPipelineOptions = {},
): Promise<LocalServices> {
  return startLocalServices({
    handlers,
    dataDir: join(dir, "data"),
    environment: "test",
    config: testConfig(),
    pipeline: testPipeline(dir, scripts, pipelineOptions),
    port: 0,
    env: { SPACEPORT_SMTP_URL: smtpUrl },
    retry: { quotaMs: 50, throttleMs: 50, lambdaMs: 50, pollMs: 500, ...(waits.emailMs !== undefined ? { emailMs: waits.emailMs } : {}) },
    quotaHoldMs: 0,
    ...(waits.stopGraceMs !== undefined ? { stopGraceMs: waits.stopGraceMs } : {}),
  });
}

/** Whether a process is still there (a stopped stage's process must be gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
