/**
 * Multipart upload from the browser through the uploads API: the bytes go straight to the part
 * URLs (S3 presigned, or the local server's signed route). A part that fails (dropped
 * connection, 5xx) is sent again with a growing pause; URLs that expired are asked for again.
 * The session id is kept in localStorage under the source's signature, so after a reload the
 * same file (or folder) resumes: the parts the store already has are skipped.
 */
import { call, type ApiConfig } from "./api.js";

export interface UploadSource {
  /** Stable across reloads for the same input (name, size, modification times). */
  readonly signature: string;
  readonly name: string;
  readonly size: number;
  /** The bytes of [start, end): a File slice (no copy) or the next bytes of a ZIP stream. */
  read(start: number, end: number): Promise<Blob>;
}

export interface Progress {
  readonly sentBytes: number;
  readonly totalBytes: number;
  /** Bytes per second over the last few seconds. */
  readonly bytesPerSecond: number;
  readonly retries: number;
  readonly resumedParts: number;
}

interface Session {
  readonly uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  readonly parts?: readonly { partNumber: number; url: string }[];
  readonly uploaded: readonly { partNumber: number; size: number }[];
  readonly input?: string;
}

const MAX_TRIES = 6;
const resumeKey = (signature: string) => `spaceport.upload.${signature}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function upload(config: ApiConfig, source: UploadSource, onProgress: (p: Progress) => void): Promise<string> {
  const session = await openSession(config, source);
  localStorage.setItem(resumeKey(source.signature), session.uploadId);
  const done = new Set(session.uploaded.map((p) => p.partNumber));
  const urls = new Map((session.parts ?? []).map((p) => [p.partNumber, p.url]));
  const meter = new Meter(source.size);
  let retries = 0;
  for (const n of done) meter.add(partBytes(session, source.size, n));
  const report = () => onProgress({ sentBytes: meter.shown, totalBytes: source.size, bytesPerSecond: meter.rate(), retries, resumedParts: done.size });
  report();
  // In order, one part at a time: a stream source can only be read forward, and one part in
  // flight keeps the page's memory at about one part.
  for (let n = 1; n <= session.partCount; n++) {
    if (done.has(n)) continue;
    const start = (n - 1) * session.partSize;
    const blob = await source.read(start, Math.min(source.size, start + session.partSize));
    for (let attempt = 1; ; attempt++) {
      if (!urls.has(n)) await refreshUrls(config, session.uploadId, n, session.partCount, urls);
      const outcome = await putPart(urls.get(n)!, blob, (sent) => {
        meter.inFlight(sent);
        report();
      });
      if (outcome === "ok") break;
      meter.inFlight(0);
      if (outcome === "expired") urls.delete(n);
      if (attempt >= MAX_TRIES) throw new Error(`part ${n} of ${session.partCount} could not be sent after ${MAX_TRIES} tries; reload the page to resume`);
      retries++;
      report();
      await sleep(Math.min(8000, 500 * 2 ** (attempt - 1)));
    }
    meter.add(blob.size);
    report();
  }
  const completed = await call<{ input: string }>(config, "POST", `/uploads/${session.uploadId}/complete`);
  localStorage.removeItem(resumeKey(source.signature));
  return completed.input;
}

/** Aborts the upload a source left open (the page's "cancel upload"). */
export async function abandon(config: ApiConfig, source: UploadSource): Promise<void> {
  const id = localStorage.getItem(resumeKey(source.signature));
  localStorage.removeItem(resumeKey(source.signature));
  if (id) await call(config, "DELETE", `/uploads/${id}`).catch(() => undefined);
}

async function openSession(config: ApiConfig, source: UploadSource): Promise<Session> {
  const earlier = localStorage.getItem(resumeKey(source.signature));
  if (earlier) {
    try {
      const session = await call<Session & { state: string; size: number }>(config, "GET", `/uploads/${earlier}`);
      if (session.state === "open" && session.size === source.size) return session;
    } catch {
      // Gone (expired, aborted, another key): start over.
    }
  }
  return call<Session>(config, "POST", "/uploads", { name: source.name, size: source.size });
}

async function refreshUrls(config: ApiConfig, uploadId: string, from: number, partCount: number, urls: Map<number, string>): Promise<void> {
  const partNumbers = Array.from({ length: Math.min(100, partCount - from + 1) }, (_, i) => from + i);
  const answer = await call<{ parts: { partNumber: number; url: string }[] }>(config, "POST", `/uploads/${uploadId}/parts`, { partNumbers });
  for (const part of answer.parts) urls.set(part.partNumber, part.url);
}

/** One PUT with upload progress (XMLHttpRequest: fetch has no upload progress events). */
function putPart(url: string, blob: Blob, onSent: (bytes: number) => void): Promise<"ok" | "expired" | "failed"> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.upload.onprogress = (event) => onSent(event.loaded);
    xhr.onload = () => resolve(xhr.status >= 200 && xhr.status < 300 ? "ok" : xhr.status === 403 ? "expired" : "failed");
    xhr.onerror = () => resolve("failed");
    xhr.ontimeout = () => resolve("failed");
    xhr.send(blob);
  });
}

const partBytes = (session: Session, size: number, n: number) => (n < session.partCount ? session.partSize : size - (session.partCount - 1) * session.partSize);

/** Bytes sent, and the rate over a sliding window of a few seconds. */
class Meter {
  sent = 0;
  private current = 0;
  private readonly samples: { t: number; bytes: number }[] = [];
  constructor(readonly total: number) {}
  add(bytes: number): void {
    this.sent += bytes;
    this.current = 0;
  }
  inFlight(bytes: number): void {
    this.current = bytes;
    this.samples.push({ t: performance.now(), bytes: this.sent + this.current });
    while (this.samples.length > 2 && performance.now() - this.samples[0]!.t > 5000) this.samples.shift();
  }
  get shown(): number {
    return this.sent + this.current;
  }
  rate(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 200) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
}
