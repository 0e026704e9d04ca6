/**
 * `spaceport run <folder>`: packs a folder of photos into a ZIP (stored, not deflated: JPEGs
 * do not shrink) with Node's own crc32. The folder is only read.
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { crc32 } from "node:zlib";

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

/** Writes `files` (paths under `root`) to a ZIP at `target`; returns the number of entries. */
export function zipFiles(root: string, files: readonly string[], target: string): number {
  const fd = openSync(target, "w");
  const central: Buffer[] = [];
  let offset = 0;
  const write = (buffer: Buffer) => {
    writeSync(fd, buffer);
    offset += buffer.length;
  };
  try {
    for (const file of files) {
      const name = Buffer.from(relative(root, file).split(sep).join("/"), "utf8");
      const body = readFileSync(file);
      if (body.length >= 0xffffffff || offset >= 0xffffffff) throw new Error("the photos are larger than 4 GB: make the ZIP with a zip tool (ZIP64) and pass the .zip");
      const crc = crc32(body);
      const { dosTime, dosDate } = dos(statSync(file).mtime);
      const local = Buffer.alloc(30);
      local.writeUInt32LE(0x04034b50, 0);
      local.writeUInt16LE(20, 4);
      local.writeUInt16LE(0x0800, 6); // UTF-8 names
      local.writeUInt16LE(0, 8); // stored
      local.writeUInt16LE(dosTime, 10);
      local.writeUInt16LE(dosDate, 12);
      local.writeUInt32LE(crc, 14);
      local.writeUInt32LE(body.length, 18);
      local.writeUInt32LE(body.length, 22);
      local.writeUInt16LE(name.length, 26);
      local.writeUInt16LE(0, 28);
      const header = Buffer.alloc(46);
      header.writeUInt32LE(0x02014b50, 0);
      header.writeUInt16LE(20, 4);
      header.writeUInt16LE(20, 6);
      header.writeUInt16LE(0x0800, 8);
      header.writeUInt16LE(0, 10);
      header.writeUInt16LE(dosTime, 12);
      header.writeUInt16LE(dosDate, 14);
      header.writeUInt32LE(crc, 16);
      header.writeUInt32LE(body.length, 20);
      header.writeUInt32LE(body.length, 24);
      header.writeUInt16LE(name.length, 28);
      header.writeUInt32LE(offset, 42);
      central.push(header, name);
      write(local);
      write(name);
      write(body);
    }
    const start = offset;
    for (const part of central) write(part);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(files.length, 8);
    end.writeUInt16LE(files.length, 10);
    end.writeUInt32LE(offset - start, 12);
    end.writeUInt32LE(start, 16);
    write(end);
  } finally {
    closeSync(fd);
  }
  return files.length;
}

function dos(date: Date): { dosTime: number; dosDate: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    dosTime: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    dosDate: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}
