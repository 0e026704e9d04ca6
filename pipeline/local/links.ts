/**
 * Keeps local links valid after the server that made them has stopped. A job's email and
 * status carry `http://127.0.0.1:<port>/files/...` links for the port its server listened on;
 * the data dir remembers the port it is served on (`<data>/port`) so later runs, `dev` and
 * `open` serve there again, and each job remembers the base of its own links
 * (`<data>/links/<job id>`) for the case where that port was taken and another was used.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JOB_ID } from "../layout.js";
import type { DataDir } from "./data.js";

export const DEFAULT_PORT = 8787;

const portFile = (data: DataDir) => join(data.root, "port");
const linkFile = (data: DataDir, jobId: string) => {
  if (!JOB_ID.test(jobId)) throw new Error(`not a job id: ${JSON.stringify(jobId)}`);
  return join(data.root, "links", jobId);
};

function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

function readPort(text: string | undefined): number | undefined {
  const port = Number(text?.trim());
  return Number.isInteger(port) && port > 0 && port <= 65535 ? port : undefined;
}

/** The port this data dir is served on: the one remembered, else 8787. */
export function preferredPort(data: DataDir): number {
  const file = portFile(data);
  return (existsSync(file) ? readPort(readFileSync(file, "utf8")) : undefined) ?? DEFAULT_PORT;
}

/** Remembers the port the data dir was first served on; a port once remembered stays. */
export function rememberPort(data: DataDir, port: number): void {
  if (!existsSync(portFile(data))) writeAtomically(portFile(data), `${port}\n`);
}

/** Records the base URL of the links a job's email and status carry. */
export function recordLinkBase(data: DataDir, jobId: string, baseUrl: string): void {
  const file = linkFile(data, jobId);
  mkdirSync(join(data.root, "links"), { recursive: true });
  writeAtomically(file, `${baseUrl}\n`);
}

/** The base URL a job's links use, when the job was notified by a local server. */
export function linkBaseOf(data: DataDir, jobId: string): string | undefined {
  const file = linkFile(data, jobId);
  return existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined;
}

/** The port of a job's links: where `spaceport open` must listen for them to work. */
export function linkPortOf(data: DataDir, jobId: string): number | undefined {
  const base = linkBaseOf(data, jobId);
  return base ? readPort(new URL(base).port) : undefined;
}
