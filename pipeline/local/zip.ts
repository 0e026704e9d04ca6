/**
 * `spaceport run <folder>`: packs a folder of photos into a ZIP. The folder is only read.
 */
import { createWriteStream, readdirSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { ZipFile } from "yazl";

const PHOTO = /\.(jpe?g|png|tiff?|dng)$/i;

/** Photos under `folder` (recursively, hidden entries skipped), sorted. */
export function photosIn(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && PHOTO.test(entry.name)) found.push(path);
    }
  };
  walk(folder);
  return found.sort();
}

/**
 * Writes `files` (paths under `root`) to a ZIP at `target` with yazl (ZIP64 when needed);
 * entries are stored, not deflated, since photos do not shrink. Returns the number of entries.
 */
export async function zipFiles(root: string, files: readonly string[], target: string): Promise<number> {
  const zip = new ZipFile();
  for (const file of files) zip.addFile(file, relative(root, file).split(sep).join("/"), { compress: false });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(target));
  return files.length;
}
