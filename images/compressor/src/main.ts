// Entry program of the compressor image (see images/README.md for the container contract).
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FAILURE_FILES, OPT_ML, progressLine, truncateReason } from "../../../pipeline/stage-contract.js";
import { compress, configFromEnv } from "./compress.js";
import { DELIVERY_FILES, DELIVERY_FOLDERS } from "./delivery-files.js";
import { CompressorError } from "./errors.js";

const optMl = process.env.SPACEPORT_OPT_ML || OPT_ML;

function progress(pct: number, what: string): void {
  process.stdout.write(`${progressLine(pct, what)}\n`);
}

async function fail(reason: string): Promise<never> {
  const text = truncateReason(reason.endsWith(".") ? reason : `${reason}.`);
  const outDir = join(optMl, "output");
  try {
    await mkdir(outDir, { recursive: true });
    for (const name of FAILURE_FILES) await writeFile(join(outDir, name), text);
  } catch (e) {
    process.stderr.write(`could not write the failure file: ${(e as Error).message}\n`);
  }
  process.stderr.write(`compressor failed: ${text}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let cfg;
  try {
    cfg = configFromEnv(process.env, optMl, progress);
  } catch (e) {
    return fail((e as Error).message);
  }
  const written = [...DELIVERY_FILES, ...DELIVERY_FOLDERS];
  const preexisting = new Set(written.filter((f) => existsSync(join(cfg.deliveryDir, f))));
  try {
    const report = await compress(cfg);
    const r = report as { output: { compressionRatio: number; sogBytes: number }; gaussians: { delivered: number }; timings: { wall_s: number } };
    process.stdout.write(`compressed ${r.gaussians.delivered} Gaussians to ${r.output.sogBytes} bytes (${r.output.compressionRatio.toFixed(1)}x) in ${r.timings.wall_s.toFixed(1)} s\n`);
  } catch (e) {
    // a failed run leaves no half delivery behind (files that were there before are kept)
    for (const f of written) if (!preexisting.has(f)) await rm(join(cfg.deliveryDir, f), { recursive: true, force: true });
    if (e instanceof CompressorError) return fail(e.message);
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    return fail(`Compression failed unexpectedly: ${(e as Error).message}`);
  }
}

await main();
