// SOG (PlayCanvas' bundled web format: meta.json + WebP textures in a zip) with a CPU SH palette.
//
// splat-transform writes everything except the SH palette (means, quats, scales, sh0; its own
// code, given our Morton order through `indices`). The SH palette (shN) is clustered by our
// PyTorch k-means and encoded here exactly as splat-transform's writer lays it out: labels
// texture (16-bit index in R,G per Gaussian, same texel order), centroids texture
// (64 palette entries per row, one texel per coefficient, RGB = codebook indices) and
// meta.shN = { count, bands, codebook[256], files }. Read back with splat-transform in tests.
import {
  Column, DataTable, MemoryFileSystem, MemoryReadFileSystem, Transform, WebPCodec, ZipFileSystem,
  bakeTransform, createChunkDataPool, dataTableToChunkSource, materializeToDataTable, readFile,
  sortMortonOrder, writeSog, type Writer,
} from "@playcanvas/splat-transform";
import { shKmeans, type KmeansInfo } from "./kmeans.js";
import { REST_COUNT, splatColumnNames, type Splats } from "./ply.js";

/**
 * Our scenes are metric ENU, z up. The PlayCanvas viewer is y up and shows PLY data rotated
 * 180 degrees about z; tagging the table with a -90 degree rotation about x makes
 * splat-transform bake ENU into PLY space (positions, rotations and SH) so the ground is level.
 */
export const ENU_TO_ENGINE = (): Transform => new Transform().fromEulers(-90, 0, 0);

/** Splats (ENU) to a DataTable baked into splat-transform's PLY space. */
export async function toPlySpace(splats: Splats): Promise<DataTable> {
  const names = splatColumnNames(splats.shDegree);
  const table = new DataTable(names.map((n) => new Column(n, splats.columns.get(n)!)), ENU_TO_ENGINE());
  const pool = createChunkDataPool();
  return materializeToDataTable(bakeTransform(dataTableToChunkSource(table, pool.chunkSize), Transform.PLY), pool);
}

/** A DataTable (any space) back to ENU columns. */
export async function tableToEnu(table: DataTable): Promise<Splats> {
  const pool = createChunkDataPool();
  const baked = await materializeToDataTable(bakeTransform(dataTableToChunkSource(table, pool.chunkSize), ENU_TO_ENGINE()), pool);
  const columns = new Map<string, Float32Array>();
  for (const c of baked.columns) columns.set(c.name, Float32Array.from(c.data));
  const rest = baked.columnNames.filter((n: string) => n.startsWith("f_rest_")).length;
  return { count: baked.numRows, columns, shDegree: Math.max(0, REST_COUNT.indexOf(rest as (typeof REST_COUNT)[number])) };
}

/** Reads a bundled .sog with splat-transform and returns the Gaussians in ENU, in file order. */
export async function readSogEnu(bytes: Uint8Array): Promise<Splats> {
  const fs = new MemoryReadFileSystem();
  fs.set("scene.sog", bytes);
  const [source] = await readFile({ filename: "scene.sog", inputFormat: "sog", fileSystem: fs });
  if (!source) throw new Error("splat-transform read no scene from the SOG bundle");
  const pool = createChunkDataPool();
  const table = await materializeToDataTable(source, pool);
  return tableToEnu(table);
}

/** SH palette size: about one entry per 16 Gaussians, a power of two in [256, 65536]. */
export function paletteSizeFor(n: number, max = 65536): number {
  const p = 2 ** Math.ceil(Math.log2(Math.max(1, n / 16)));
  return Math.min(max, Math.max(256, p));
}

export type SogOptions = {
  iterations: number;
  tolerance: number;
  sample: number;
  paletteMax: number;
  /** Exact palette size (overrides the one-per-16 rule; benchmarks use splat-transform's). */
  palette?: number;
  workDir: string;
  onProgress?: (fraction: number, what: string) => void;
};

export type SogResult = {
  bytes: Uint8Array;
  /** order[i] = input row stored at texel i. */
  order: Uint32Array;
  files: Record<string, number>;
  sh: { bands: number; paletteSize: number; kmeansSeconds: number; kmeansSsePerRow: number } & Omit<KmeansInfo, "seconds" | "ssePerRow"> | null;
};

class BufferWriter implements Writer {
  chunks: Uint8Array[] = [];
  bytesWritten = 0;
  write(data: Uint8Array): void { this.chunks.push(data.slice()); this.bytesWritten += data.byteLength; }
  close(): void {}
  abort(): void { this.chunks = []; }
  concat(): Uint8Array { return new Uint8Array(Buffer.concat(this.chunks)); }
}

export async function encodeSog(table: DataTable, opts: SogOptions): Promise<SogResult> {
  const n = table.numRows;
  const restNames = table.columnNames.filter((c: string) => c.startsWith("f_rest_"));
  const bands = Math.max(0, REST_COUNT.indexOf(restNames.length as (typeof REST_COUNT)[number]));
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  sortMortonOrder(table, order);

  // the SH k-means is the long pole: start it first, the rest runs while Python works
  const dims = restNames.length;
  let shPromise: ReturnType<typeof shKmeans> | null = null;
  const k = Math.min(opts.palette ?? paletteSizeFor(n, opts.paletteMax), n);
  if (bands > 0) {
    const pts = new Float32Array(n * dims);
    const cols = restNames.map((c: string) => table.getColumnByName(c)!.data);
    for (let j = 0; j < dims; j++) {
      const col = cols[j]!;
      for (let i = 0; i < n; i++) pts[i * dims + j] = col[i]!;
    }
    shPromise = shKmeans(pts, n, dims, {
      k, iterations: opts.iterations, tolerance: opts.tolerance, sample: opts.sample, workDir: opts.workDir,
      onIteration: (d, t) => opts.onProgress?.(d / t, `SH palette k-means ${d}/${t}`),
    });
    shPromise.catch(() => {});
  }

  const base = new DataTable(table.columns.filter((c: Column) => !c.name.startsWith("f_rest_")), table.transform);
  const mem = new MemoryFileSystem();
  await writeSog({ filename: "/sog/meta.json", dataTable: base, bundle: false, iterations: 1, indices: order, logging: "silent" }, mem);
  const files = new Map<string, Uint8Array>();
  for (const [path, data] of mem.results) files.set(path.split("/").pop()!, data);
  const meta = JSON.parse(Buffer.from(files.get("meta.json")!).toString("utf8")) as Record<string, unknown>;
  files.delete("meta.json");

  let sh: SogResult["sh"] = null;
  if (shPromise) {
    const km = await shPromise;
    const coeffs = dims / 3;
    const width = Math.ceil(Math.sqrt(n) / 4) * 4;
    const height = Math.ceil(n / width / 4) * 4;
    const labelsTex = new Uint8Array(width * height * 4);
    for (let i = 0; i < n; i++) {
      const l = km.labels[order[i]!]!;
      labelsTex[i * 4] = l & 0xff;
      labelsTex[i * 4 + 1] = (l >> 8) & 0xff;
      labelsTex[i * 4 + 3] = 0xff;
    }
    const p = km.paletteSize;
    const cw = 64 * coeffs, ch = Math.ceil(p / 64);
    const centTex = new Uint8Array(cw * ch * 4);
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < coeffs; j++) {
        const t = (i * coeffs + j) * 4;
        centTex[t] = km.centroidLabels[i * dims + j]!;
        centTex[t + 1] = km.centroidLabels[i * dims + coeffs + j]!;
        centTex[t + 2] = km.centroidLabels[i * dims + 2 * coeffs + j]!;
        centTex[t + 3] = 0xff;
      }
    }
    const codec = await WebPCodec.create();
    files.set("shN_centroids.webp", new Uint8Array(codec.encodeLosslessRGBA(centTex, cw, ch) as Uint8Array));
    files.set("shN_labels.webp", new Uint8Array(codec.encodeLosslessRGBA(labelsTex, width, height) as Uint8Array));
    meta.shN = { count: p, bands, codebook: Array.from(km.codebook), files: ["shN_centroids.webp", "shN_labels.webp"] };
    const { seconds, ssePerRow, ...how } = km.info;
    sh = { bands, paletteSize: p, kmeansSeconds: seconds, kmeansSsePerRow: ssePerRow, ...how };
  }

  const { bytes, sizes } = await bundle(files, meta);
  return { bytes, order, files: sizes, sh };
}

/** The .sog file: every texture, then meta.json, in one ZIP; with each entry's size. */
async function bundle(files: ReadonlyMap<string, Uint8Array>, meta: Record<string, unknown>): Promise<{ bytes: Uint8Array; sizes: Record<string, number> }> {
  const writer = new BufferWriter();
  const zip = new ZipFileSystem(writer);
  const sizes: Record<string, number> = {};
  const entries: [string, Uint8Array][] = [...files, ["meta.json", new TextEncoder().encode(JSON.stringify(meta))]];
  for (const [name, data] of entries) {
    const w = await zip.createWriter(name);
    await w.write(data);
    await w.close();
    sizes[name] = data.byteLength;
  }
  await zip.close();
  return { bytes: writer.concat(), sizes };
}
