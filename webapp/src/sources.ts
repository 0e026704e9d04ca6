/**
 * What the page uploads: a dropped ZIP (read in slices, never whole), or a dropped folder of
 * photos zipped in the browser by client-zip as a stream. The folder's ZIP is stored, not
 * deflated (photos do not compress), so its exact length is known before the first byte
 * (`predictLength`) and announced to the uploads API; parts are cut from the stream as it flows,
 * so the page holds only the parts in flight (the uploader's PARTS_IN_FLIGHT).
 */
import { makeZip, predictLength } from "client-zip";
import type { UploadSource } from "./uploader.js";

export const PHOTO = /\.(jpe?g|png|tiff?|dng)$/i;

export function zipFileSource(file: File): UploadSource {
  return {
    signature: `zip:${file.name}:${file.size}:${file.lastModified}`,
    name: safeZipName(file.name),
    size: file.size,
    read: async (start, end) => file.slice(start, end),
  };
}

/** A file of a dropped or picked folder, with its path inside that folder. */
export interface FolderFile {
  readonly file: File;
  readonly path: string;
}

export function folderSource(folder: string, files: readonly FolderFile[]): UploadSource {
  const photos = files.filter((f) => PHOTO.test(f.path)).sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => f.file);
  if (photos.length === 0) throw new Error(`the folder ${folder} has no photos (.jpg, .jpeg, .png, .tif, .dng)`);
  const paths = new Map(files.map((f) => [f.file, f.path]));
  const entries = photos.map((f) => ({ input: f, name: paths.get(f)!, lastModified: new Date(f.lastModified), size: f.size }));
  const size = Number(predictLength(entries.map(({ name, size, lastModified }) => ({ name, size, lastModified }))));
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let position = 0;
  let pending: Uint8Array = new Uint8Array(0);
  return {
    signature: `folder:${folder}:${photos.length}:${size}:${photos.reduce((m, f) => Math.max(m, f.lastModified), 0)}`,
    name: safeZipName(`${folder}.zip`),
    size,
    // Forward only: a resumed upload skips what the store has by reading past it.
    async read(start, end) {
      reader ??= makeZip(entries).getReader();
      const chunks: Uint8Array[] = [];
      while (position < end) {
        if (pending.length === 0) {
          const next = await reader.read();
          if (next.done) break;
          pending = next.value;
        }
        const take = Math.min(pending.length, end - position);
        const from = Math.max(0, start - position);
        if (from < take) chunks.push(pending.subarray(from, take));
        pending = pending.subarray(take);
        position += take;
      }
      return new Blob(chunks as BlobPart[]);
    },
  };
}

/** The files of a dropped folder (FileSystemDirectoryEntry), with their paths inside it. */
export async function readDroppedFolder(root: FileSystemDirectoryEntry): Promise<FolderFile[]> {
  const found: FolderFile[] = [];
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    const reader = dir.createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
      if (batch.length === 0) return;
      for (const entry of batch) {
        if (entry.isDirectory) await walk(entry as FileSystemDirectoryEntry, `${prefix}${entry.name}/`);
        else found.push({ file: await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject)), path: `${prefix}${entry.name}` });
      }
    }
  };
  await walk(root, "");
  return found;
}

/** The files of a folder picked with `<input webkitdirectory>` (paths start with the folder's name). */
export const pickedFolder = (files: readonly File[]): FolderFile[] =>
  files.map((file) => ({ file, path: (file.webkitRelativePath || file.name).split("/").slice(1).join("/") || file.name }));

/** A name the uploads API accepts: letters, digits, '.', '_', '-', ending in .zip. */
export function safeZipName(name: string): string {
  const base = name.replace(/\.zip$/i, "").replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 100) || "photos";
  return `${base}.zip`;
}
