// Checks that a Streamed SOG bundle on disk is complete before it is delivered: lod-meta.json
// parses, every chunk it lists has its meta.json, every texture a chunk's meta.json names is
// there and not empty, and the spatial tree's references stay inside the chunks they name.
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";

export type LodBundle = {
  /** Chunks (one unbundled SOG each) lod-meta.json lists. */
  chunks: number;
  /** Files in the bundle, lod-meta.json included, and their bytes. */
  files: number;
  bytes: number;
  /** Gaussians per level, as lod-meta.json states them. */
  metaCounts: number[];
};

type TreeNode = { children?: TreeNode[]; lods?: Record<string, { file: number; offset: number; count: number }> };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A path inside `root` (no escaping through `..` or an absolute name), or an error naming it. */
function inside(root: string, rel: unknown, what: string): string {
  if (typeof rel !== "string" || rel === "") throw new Error(`${what}: not a file name`);
  const full = normalize(join(root, rel));
  if (!full.startsWith(normalize(root + sep))) throw new Error(`${what}: ${rel} is outside the bundle`);
  return full;
}

async function fileBytes(path: string, what: string): Promise<number> {
  if (!existsSync(path)) throw new Error(`incomplete LOD bundle: ${what} is missing`);
  const size = (await stat(path)).size;
  if (size === 0) throw new Error(`incomplete LOD bundle: ${what} is empty`);
  return size;
}

/** The texture files a chunk's meta.json names (means, scales, quats, sh0, shN ...). */
function textureFiles(meta: Record<string, unknown>): string[] {
  const files: string[] = [];
  for (const value of Object.values(meta)) {
    if (isObject(value) && Array.isArray(value["files"])) for (const f of value["files"]) files.push(String(f));
  }
  return files;
}

/** Reads one chunk's meta.json and checks its textures; answers its Gaussian count and bytes. */
async function checkChunk(root: string, rel: string): Promise<{ count: number; bytes: number; files: number }> {
  const metaPath = inside(root, rel, "lod-meta.json filenames");
  let bytes = await fileBytes(metaPath, rel);
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(metaPath, "utf8"));
  } catch (e) {
    throw new Error(`incomplete LOD bundle: ${rel} is not JSON (${(e as Error).message})`);
  }
  if (!isObject(meta) || typeof meta["count"] !== "number") throw new Error(`incomplete LOD bundle: ${rel} has no Gaussian count`);
  const textures = textureFiles(meta);
  if (textures.length === 0) throw new Error(`incomplete LOD bundle: ${rel} names no textures`);
  for (const f of textures) bytes += await fileBytes(inside(dirname(metaPath), f, rel), join(dirname(rel), f));
  return { count: meta["count"], bytes, files: 1 + textures.length };
}

/** Every leaf's per-level reference names a listed chunk and stays inside its Gaussians. */
function checkTree(node: TreeNode, counts: number[]): void {
  for (const child of node.children ?? []) checkTree(child, counts);
  for (const [level, ref] of Object.entries(node.lods ?? {})) {
    const n = counts[ref.file];
    if (n === undefined) throw new Error(`incomplete LOD bundle: level ${level} of a tree node names chunk ${ref.file}, which lod-meta.json does not list`);
    if (ref.offset < 0 || ref.count < 0 || ref.offset + ref.count > n) throw new Error(`incomplete LOD bundle: a tree node reads Gaussians ${ref.offset}-${ref.offset + ref.count} of a chunk of ${n}`);
  }
}

/** Throws naming the first missing or damaged part; answers the bundle's size when it is whole. */
export async function verifyLodBundle(dir: string): Promise<LodBundle> {
  const indexPath = join(dir, "lod-meta.json");
  let bytes = await fileBytes(indexPath, "lod-meta.json");
  let meta: unknown;
  try {
    meta = JSON.parse(await readFile(indexPath, "utf8"));
  } catch (e) {
    throw new Error(`incomplete LOD bundle: lod-meta.json is not JSON (${(e as Error).message})`);
  }
  if (!isObject(meta) || !Array.isArray(meta["filenames"]) || !Array.isArray(meta["counts"]) || !isObject(meta["tree"])) {
    throw new Error("incomplete LOD bundle: lod-meta.json lacks filenames, counts or tree");
  }
  const chunkCounts: number[] = [];
  let files = 1;
  for (const rel of meta["filenames"] as unknown[]) {
    const chunk = await checkChunk(dir, String(rel));
    chunkCounts.push(chunk.count);
    bytes += chunk.bytes;
    files += chunk.files;
  }
  checkTree(meta["tree"] as TreeNode, chunkCounts);
  const metaCounts = (meta["counts"] as unknown[]).map(Number);
  const listed = chunkCounts.reduce((a, b) => a + b, 0), stated = metaCounts.reduce((a, b) => a + b, 0);
  if (listed !== stated) throw new Error(`incomplete LOD bundle: its chunks hold ${listed} Gaussians, lod-meta.json says ${stated}`);
  return { chunks: chunkCounts.length, files, bytes, metaCounts };
}
