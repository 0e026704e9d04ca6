// Finds the training output: model.tar.gz (safely extracted: no absolute or '..' paths, no
// links, size limits) or an already extracted point_cloud.ply, plus cameras.json, metrics.json
// and upstream.json.
import { existsSync } from "node:fs";
import { mkdir, readdir, stat } from "node:fs/promises";
import { join, posix, relative, resolve, sep } from "node:path";
import * as tar from "tar";
import { CompressorError } from "./errors.js";

export type ModelInput = {
  ply: string;
  cameras: string | null;
  metrics: string | null;
  /** The earlier stages' reports, carried by the training stage. */
  upstream: string | null;
  /** Where the files came from, for the report. */
  source: string;
  sourceBytes: number;
};

export type ExtractLimits = { maxBytes: number; maxEntries: number };

const WANTED = new Set(["point_cloud.ply", "cameras.json", "metrics.json", "upstream.json"]);

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth < 0) return;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, depth - 1, out);
    else if (e.isFile()) out.push(p);
  }
}

function pickShallowest(paths: string[], name: string): string | null {
  const c = paths.filter((p) => p.split(/[\\/]/).pop() === name);
  c.sort((a, b) => a.split(/[\\/]/).length - b.split(/[\\/]/).length || b.localeCompare(a));
  return c[0] ?? null;
}

/** Validates every entry of a tarball, then extracts only the files the compressor needs. */
export async function safeExtract(archive: string, dest: string, limits: ExtractLimits): Promise<string[]> {
  const label = archive.split(/[\\/]/).pop()!;
  const problems: string[] = [];
  const wanted: string[] = [];
  let total = 0, entries = 0;
  try {
    await tar.t({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        entries++;
        const p = entry.path;
        const norm = posix.normalize(p.replace(/\\/g, "/"));
        if (p.startsWith("/") || /^[a-zA-Z]:/.test(p) || norm.split("/").includes("..")) problems.push(`'${p}' points outside the archive`);
        else if (entry.type === "SymbolicLink" || entry.type === "Link") problems.push(`'${p}' is a link`);
        else if (entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile") {
          total += entry.size ?? 0;
          if (WANTED.has(norm.split("/").pop()!)) wanted.push(p);
        }
      },
    });
  } catch (e) {
    throw new CompressorError(`${label} could not be read as a tar archive (${(e as Error).message}); the training output is damaged or incomplete.`);
  }
  if (problems.length > 0) {
    throw new CompressorError(`${label} contains unsafe entries (${problems.slice(0, 3).join("; ")}); refusing to extract it. Re-package the training output with plain relative paths.`);
  }
  if (entries > limits.maxEntries) throw new CompressorError(`${label} has ${entries} entries, more than the limit of ${limits.maxEntries}; refusing to extract it.`);
  if (total > limits.maxBytes) throw new CompressorError(`${label} would unpack to ${total} bytes, more than the limit of ${limits.maxBytes} (COMPRESS_MAX_EXTRACT_BYTES).`);
  await mkdir(dest, { recursive: true });
  const want = new Set(wanted);
  await tar.x({ file: archive, cwd: dest, strict: true, preservePaths: false, filter: (p) => want.has(p) });
  const out = wanted.map((p) => resolve(dest, p));
  for (const p of out) {
    if (relative(dest, p).split(sep).includes("..")) throw new CompressorError(`${label}: entry ${p} escaped the extraction folder.`);
  }
  return out;
}

export async function locateInput(inputDir: string, workDir: string, limits: ExtractLimits): Promise<ModelInput> {
  if (!existsSync(inputDir)) throw new CompressorError(`The input folder ${inputDir} does not exist; the compressor needs the training stage's model.tar.gz there.`);
  const files: string[] = [];
  await walk(inputDir, 4, files);
  let ply = pickShallowest(files, "point_cloud.ply");
  let source = ply ?? "";
  let pool = files;
  if (!ply) {
    const archive = files.filter((f) => /\.(tar\.gz|tgz|tar)$/i.test(f)).sort((a, b) => (a.endsWith("model.tar.gz") ? -1 : 0) - (b.endsWith("model.tar.gz") ? -1 : 0))[0];
    if (!archive) throw new CompressorError(`No model.tar.gz or point_cloud.ply found in ${inputDir}; the training stage's output is missing.`);
    pool = await safeExtract(archive, join(workDir, "model"), limits);
    ply = pickShallowest(pool, "point_cloud.ply");
    source = archive;
    if (!ply) throw new CompressorError(`${archive.split(/[\\/]/).pop()} holds no point_cloud.ply; the training stage did not save a model.`);
  }
  return {
    ply,
    cameras: pickShallowest(pool, "cameras.json"),
    metrics: pickShallowest(pool, "metrics.json"),
    upstream: pickShallowest(pool, "upstream.json"),
    source,
    sourceBytes: (await stat(source)).size,
  };
}
