// Large scenes: splat-transform's Streamed SOG (lod-meta.json + one unbundled SOG per chunk and
// level) beside the single scene.sog, so a phone never has to load one very large file. The
// coarser levels come from splat-transform's own decimation (`decimateSource`, the library form
// of `--decimate`: pairwise merges with moment matching), each level from the one before it.
//
// The chunks carry the base colour only (SH band 0): splat-transform's LOD writer clusters the
// SH palette of every chunk with its own k-means, which on CPU costs hours for a million
// Gaussians (see README, "Measured"); the single-file scene.sog keeps the full SH.
import {
  Column, DataTable, MemoryFileSystem, createChunkDataPool, dataTableToChunkSource, decimateSource,
  materializeToDataTable, stackLods, writeLodSource,
} from "@playcanvas/splat-transform";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { verifyLodBundle, type LodBundle } from "./lod-bundle.js";

/** Where the bundle goes inside the delivery folder, and its index file. */
export const LOD_FOLDER = "lod";
export const LOD_INDEX = `${LOD_FOLDER}/lod-meta.json`;

export type LodOptions = {
  /** Delivered Gaussians above which the streamed bundle is written too. */
  threshold: number;
  /** Detail levels, the full scene included (2 or more). */
  levels: number;
  /** Each coarser level keeps this fraction of the level above it. */
  ratio: number;
  /** splat-transform's --lod-chunk-count: about this many Gaussians (in thousands) per chunk. */
  chunkCount: number;
  /** splat-transform's --lod-chunk-extent: about this size of a chunk (m). */
  chunkExtent: number;
  /** Splat budgets the page streams up to, by device class. */
  budgets: { phone: number; desktop: number };
};

export const LOD_DEFAULTS: LodOptions = {
  threshold: 1_000_000, levels: 3, ratio: 0.25, chunkCount: 256, chunkExtent: 16,
  budgets: { phone: 1_000_000, desktop: 4_000_000 },
};

export type LodReport = LodBundle & { levels: number; counts: number[]; seconds: { decimate: number; write: number } };

/** Whether a scene of `count` delivered Gaussians gets the streamed bundle. */
export const wantsLod = (count: number, opts: Pick<LodOptions, "threshold">): boolean => count > opts.threshold;

/** The table without its SH rest bands (see the header: the chunks carry band 0). */
function baseColourOnly(table: DataTable): DataTable {
  return new DataTable(table.columns.filter((c: Column) => !c.name.startsWith("f_rest_")).map((c: Column) => new Column(c.name, c.data)), table.transform);
}

/** Level 0 is the scene; each next level is splat-transform's decimation of the one before. */
export async function lodLevels(table: DataTable, opts: Pick<LodOptions, "levels" | "ratio">, onLevel?: (level: number, count: number) => void): Promise<DataTable[]> {
  if (!Number.isInteger(opts.levels) || opts.levels < 2) throw new Error(`LOD levels must be a whole number of at least 2, got ${opts.levels}`);
  if (!(opts.ratio > 0 && opts.ratio < 1)) throw new Error(`LOD ratio must be between 0 and 1, got ${opts.ratio}`);
  const pool = createChunkDataPool();
  const levels = [baseColourOnly(table)];
  for (let l = 1; l < opts.levels; l++) {
    const above = levels[l - 1]!;
    const target = Math.round(above.numRows * opts.ratio);
    if (target < 1) break;
    const decimated = await decimateSource(dataTableToChunkSource(above, pool.chunkSize), pool, { targetCount: target });
    levels.push(await materializeToDataTable(decimated, pool));
    onLevel?.(l, target);
  }
  return levels;
}

/**
 * Writes `<deliveryDir>/lod/` (lod-meta.json and its chunks) from a table in PLY space. The
 * bundle is written to `lod.partial/`, checked complete (every chunk lod-meta.json lists, every
 * texture each chunk names) and only then renamed to `lod/`: an interrupted run never leaves a
 * bundle that looks complete.
 */
export async function writeLod(table: DataTable, deliveryDir: string, opts: LodOptions, progress: (fraction: number, what: string) => void): Promise<LodReport> {
  let t = Date.now();
  const levels = await lodLevels(table, opts, (l, n) => progress(l / opts.levels, `LOD level ${l}: ${n} Gaussians`));
  const decimateS = (Date.now() - t) / 1000;
  t = Date.now();
  const pool = createChunkDataPool();
  const mem = new MemoryFileSystem();
  await writeLodSource({
    filename: "/out/lod-meta.json", mainSource: stackLods(levels.map((l) => dataTableToChunkSource(l, pool.chunkSize))),
    // iterations only steer the SH k-means, which base-colour chunks do not run
    envSource: null, iterations: 1, chunkCount: opts.chunkCount, chunkExtent: opts.chunkExtent,
  }, mem);
  const partial = join(deliveryDir, `${LOD_FOLDER}.partial`), final = join(deliveryDir, LOD_FOLDER);
  await rm(partial, { recursive: true, force: true });
  for (const [path, data] of mem.results) {
    if (!path.startsWith("/out/")) throw new Error(`splat-transform's LOD writer wrote outside its folder: ${path}`);
    const file = join(partial, path.slice("/out/".length));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data);
  }
  const bundle = await verifyLodBundle(partial);
  await rm(final, { recursive: true, force: true });
  await rename(partial, final);
  return { ...bundle, levels: levels.length, counts: levels.map((l) => l.numRows), seconds: { decimate: decimateS, write: (Date.now() - t) / 1000 } };
}
