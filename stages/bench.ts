/**
 * `npm run bench`: the full local pipeline on the caliterra photos, stage by stage.
 *
 *   npm run bench -- [--count 75] [--max-size 1600] [--quality preview] [--out FILE]
 *
 * Runs one job through the local runtime's HTTP API (the same path as `spaceport dev`), samples
 * the resident memory of each stage's process tree once a second, then prints a table (wall
 * time and peak memory per stage, photos placed, held-out PSNR/SSIM, Gaussians, PLY and SOG
 * sizes, fidelity, the cost model's estimate for such a job on AWS) and writes the figures as JSON
 * (default `.bench/pipeline-<time>.json`) so two runs can be compared.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as tar from "tar";
import { estimateCost, formatUsd, jobPrefix, readStackConfigFile } from "../pipeline/index.js";
import { handlers } from "../functions/handlers.js";
import { startLocalServices } from "../pipeline/local/services.js";
import { spaceport } from "./spaceport.js";
import { formatTable as table } from "../pipeline/format.js";

const ROOT = resolve(import.meta.dirname, "..");

interface StageStatus {
  name: string;
  state: string;
  jobName?: string;
  durationSeconds?: number;
}

/** The SageMaker job a stage process runs, from the variable the emulator gives each one. */
const STAGE_JOB = /(?:^|\0)SPACEPORT_SAGEMAKER_JOB=([^\0]+)/;

/** Peak summed RSS (MB) of the processes running each SageMaker job. */
class MemorySampler {
  readonly peakMb = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    this.timer = setInterval(() => this.sample(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private sample(): void {
    const totals = new Map<string, number>();
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        const environ = readFileSync(`/proc/${pid}/environ`, "utf8");
        const match = STAGE_JOB.exec(environ);
        if (!match) continue;
        const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
        totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + rssKb / 1024);
      } catch {
        // the process ended between listing and reading
      }
    }
    for (const [job, mb] of totals) this.peakMb.set(job, Math.max(mb, this.peakMb.get(job) ?? 0));
  }
}

const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(1)} MB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: "string", default: "75" },
      "max-size": { type: "string", default: "1600" },
      quality: { type: "string", default: "preview" },
      out: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("usage: npm run bench -- [--count 75] [--max-size 1600] [--quality preview|standard|high] [--out FILE] [--keep]");
    return;
  }
  const python = process.env["SPACEPORT_PYTHON"] ?? "python3";
  const work = mkdtempSync(join(tmpdir(), "spaceport-bench-"));
  const zip = join(work, "caliterra.zip");
  const made = spawnSync(
    python,
    ["-m", "samples.inputs", "caliterra", "--out", zip, "--count", values.count!, "--max-size", values["max-size"]!],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "inherit", "inherit"] },
  );
  if (made.status !== 0) throw new Error("could not build the caliterra ZIP (see above)");

  const dataDir = join(work, "data");
  const services = await startLocalServices({ dataDir, port: 0, environment: "prod", env: {}, pipeline: spaceport, handlers });
  const sampler = new MemorySampler();
  sampler.start();
  const headers = { authorization: `Bearer ${services.apiKey}`, "content-type": "application/json" };
  const started = Date.now();
  try {
    const submitted = await fetch(`${services.baseUrl}/jobs`, {
      method: "POST",
      headers,
      body: JSON.stringify({ input: services.upload(zip), email: "bench@example.com", options: { quality: values.quality } }),
    });
    if (submitted.status !== 202) throw new Error(`POST /jobs answered ${submitted.status}: ${await submitted.text()}`);
    const { jobId } = (await submitted.json()) as { jobId: string };
    console.log(`bench job ${jobId}: ${values.count} caliterra photos at ${values["max-size"]} px, quality ${values.quality}`);

    let status: { state: string; stage: string | null; stages: StageStatus[]; failure?: { reason: string } };
    let last = "";
    for (;;) {
      status = (await (await fetch(`${services.baseUrl}/jobs/${jobId}`, { headers })).json()) as typeof status;
      const line = `${status.state} ${status.stage ?? ""}`;
      if (line !== last) console.log(`  ${((Date.now() - started) / 1000).toFixed(0)} s: ${line}`);
      last = line;
      if (status.state === "succeeded" || status.state === "failed") break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    sampler.stop();
    if (status.state !== "succeeded") throw new Error(`the job failed: ${status.failure?.reason ?? "unknown reason"}`);

    const figures = figuresOf({ jobFolder: join(dataDir, "buckets", services.buckets.processing, jobPrefix(jobId)), work, status, sampler, values, started });
    printFigures(figures);
    const out = values.out ?? join(ROOT, ".bench", `pipeline-${figures.figures.when.replace(/[:.]/g, "-")}.json`);
    mkdirSync(join(out, ".."), { recursive: true });
    writeFileSync(out, `${JSON.stringify(figures.figures, null, 2)}\n`);
    console.log(`\nfigures written to ${out}`);
  } finally {
    sampler.stop();
    await services.close();
    if (!values.keep) rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

interface BenchRun {
  readonly jobFolder: string;
  readonly work: string;
  readonly status: { stages: StageStatus[] };
  readonly sampler: MemorySampler;
  readonly values: { count?: string | undefined; "max-size"?: string | undefined; quality?: string | undefined };
  readonly started: number;
}

/** The figures of a finished job, from its stages' reports and the memory sampler. */
function figuresOf({ jobFolder, work, status, sampler, values, started }: BenchRun) {
  const sfm = JSON.parse(readFileSync(join(jobFolder, "sfm", "report.json"), "utf8")) as Record<string, unknown>;
  const modelArchive = readdirSync(join(jobFolder, "model"), { recursive: true }).map(String).find((f) => f.endsWith("model.tar.gz"))!;
  const extracted = join(work, "model");
  mkdirSync(extracted);
  tar.x({ file: join(jobFolder, "model", modelArchive), cwd: extracted, sync: true });
  const metrics = JSON.parse(readFileSync(join(extracted, "metrics.json"), "utf8")) as Record<string, unknown>;
  const plyBytes = statSync(join(extracted, "point_cloud.ply")).size;
  const delivery = JSON.parse(readFileSync(join(jobFolder, "delivery", "report.json"), "utf8")) as {
    output: { sogBytes: number; compressionRatio: number };
    gaussians: { input: number; delivered: number };
    fidelity?: { renders?: { meanPsnr?: number } | null };
  };

  const stages = status.stages.map((s) => ({
    name: s.name,
    wallSeconds: s.durationSeconds ?? null,
    peakMemoryMb: s.jobName ? Math.round(sampler.peakMb.get(s.jobName) ?? 0) : null,
  }));
  const config = readStackConfigFile(join(ROOT, "Pulumi.prod.yaml"), "prod");
  const cost = estimateCost(spaceport, config);
  const figures = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length },
    input: { photos: Number(values.count), maxSize: Number(values["max-size"]), quality: values.quality },
    totalWallSeconds: (Date.now() - started) / 1000,
    stages,
    sfm: { photosReceived: sfm["photos_received"], photosPlaced: sfm["photos_placed"], gpsResidualM: (sfm["gps"] as { residual_m?: number } | null)?.residual_m ?? null },
    training: { psnr: metrics["psnr"], ssim: metrics["ssim"], gaussians: metrics["gaussians"], steps: metrics["steps"], sPerStep: metrics["s_per_step"] },
    compression: {
      plyBytes,
      sogBytes: delivery.output.sogBytes,
      ratio: plyBytes / delivery.output.sogBytes,
      gaussiansDelivered: delivery.gaussians.delivered,
      fidelityPsnr: delivery.fidelity?.renders?.meanPsnr ?? null,
    },
    awsCostEstimateUsd: cost.totalUsd,
  };
  return { figures, sfm, metrics, plyBytes, delivery, cost };
}

function printFigures({ figures, sfm, metrics, plyBytes, delivery, cost }: ReturnType<typeof figuresOf>): void {
  const { stages } = figures;
  const rows = [["stage", "wall time", "peak memory"]];
  for (const s of stages) rows.push([s.name, s.wallSeconds === null ? "-" : `${s.wallSeconds.toFixed(0)} s`, s.peakMemoryMb === null ? "-" : `${s.peakMemoryMb} MB`]);
  rows.push(["total", `${figures.totalWallSeconds.toFixed(0)} s`, ""]);
  console.log(`\n${table(rows)}\n`);
  console.log(
    table([
      ["figure", "value"],
      ["photos placed", `${String(sfm["photos_placed"])} / ${String(sfm["photos_received"])}`],
      ["GPS residual (RMS)", `${figures.sfm.gpsResidualM ?? "-"} m`],
      ["held-out PSNR / SSIM", `${Number(metrics["psnr"]).toFixed(2)} dB / ${Number(metrics["ssim"]).toFixed(3)}`],
      ["Gaussians (trained / delivered)", `${String(metrics["gaussians"])} / ${delivery.gaussians.delivered}`],
      ["PLY / SOG", `${mb(plyBytes)} / ${mb(delivery.output.sogBytes)} (${figures.compression.ratio.toFixed(1)}x)`],
      ["fidelity (SOG vs PLY renders)", figures.compression.fidelityPsnr === null ? "-" : `${Number(figures.compression.fidelityPsnr).toFixed(2)} dB PSNR`],
      ["AWS cost estimate (cost model)", formatUsd(cost.totalUsd)],
    ]),
  );
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).message}`);
  process.exitCode = 1;
});

