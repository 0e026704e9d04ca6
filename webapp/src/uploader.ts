/**
 * Multipart upload from the browser through the uploads API: the bytes go straight to the part
 * URLs (S3 presigned, or the local server's signed route), a few parts at once. A part that
 * fails (dropped connection, 5xx) is sent again with a growing pause; URLs that expired are
 * asked for again.
 * The session id is kept in localStorage under the source's signature, so after a reload the
 * same file (or folder) resumes: the parts the store already has are skipped.
 */
import { call, type ApiConfig } from "./api.js";

export interface UploadSource {
  /** Stable across reloads for the same input (name, size, modification times). */
  readonly signature: string;
  readonly name: string;
  readonly size: number;
  /**
   * The bytes of [start, end): a File slice (no copy) or the next bytes of a ZIP stream. Called
   * one at a time, in increasing order of start (the uploader waits for one read to end before
   * it starts the next), so a stream source never has to seek back.
   */
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
/**
 * Parts in flight at once. One PUT at a time leaves the link idle between parts (each part's
 * request, response and the next read), so a single browser upload ran at about a quarter of one
 * streamed PUT; a few in flight keep it busy. Four stays under the browser's six connections per
 * host (the page's API calls need one) and bounds the page's memory at four parts.
 */
export const PARTS_IN_FLIGHT = 4;
const resumeKey = (signature: string) => `spaceport.upload.${signature}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function upload(config: ApiConfig, source: UploadSource, onProgress: (p: Progress) => void): Promise<string> {
  const session = await openSession(config, source);
  localStorage.setItem(resumeKey(source.signature), session.uploadId);
  const done = new Set(session.uploaded.map((p) => p.partNumber));
  const meter = new Meter();
  const counts = { retries: 0 };
  for (const n of done) meter.resumed(partBytes(session, source.size, n));
  const report = () => onProgress({ sentBytes: meter.shown, totalBytes: source.size, bytesPerSecond: meter.rate(), retries: counts.retries, resumedParts: done.size });
  report();
  const missing = Array.from({ length: session.partCount }, (_, i) => i + 1).filter((n) => !done.has(n));
  const urls = new Map((session.parts ?? []).map((p) => [p.partNumber, p.url]));
  await sendParts({ config, source, session, urls, meter, counts, report }, missing);
  const completed = await call<{ input: string }>(config, "POST", `/uploads/${session.uploadId}/complete`);
  localStorage.removeItem(resumeKey(source.signature));
  return completed.input;
}

interface Sending {
  readonly config: ApiConfig;
  readonly source: UploadSource;
  readonly session: Session;
  readonly urls: Map<number, string>;
  /** The request for more part URLs under way, shared by the workers that need one. */
  refreshing?: Promise<void>;
  readonly meter: Meter;
  readonly counts: { retries: number };
  readonly report: () => void;
}

/**
 * Sends the missing parts, PARTS_IN_FLIGHT at a time. Parts are read strictly in order, one read
 * at a time (a folder's ZIP is a stream that only reads forward), and each worker holds only the
 * part it is sending, so the page holds at most PARTS_IN_FLIGHT parts. When a part runs out of
 * tries the others stop taking parts and that part's error is the upload's.
 */
async function sendParts(sending: Sending, missing: readonly number[]): Promise<void> {
  const { source, session } = sending;
  let next = 0;
  let reading: Promise<unknown> = Promise.resolve();
  const state = { stopped: false };
  const worker = async (): Promise<void> => {
    while (!state.stopped && next < missing.length) {
      const n = missing[next++]!;
      const start = (n - 1) * session.partSize;
      const read = reading.then(() => source.read(start, Math.min(source.size, start + session.partSize)));
      reading = read.catch(() => undefined);
      try {
        await sendPart(sending, n, await read, state);
      } catch (error) {
        state.stopped = true;
        throw error;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(PARTS_IN_FLIGHT, missing.length) }, worker));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) throw failed.reason;
}

/** One part, sent again with a growing pause after a failure; expired URLs are asked for again. */
async function sendPart(sending: Sending, n: number, blob: Blob, state: { stopped: boolean }): Promise<void> {
  const { session, urls, meter, counts, report } = sending;
  for (let attempt = 1; !state.stopped; attempt++) {
    const outcome = await putPart(await partUrl(sending, n), blob, (sent) => {
      meter.inFlight(n, sent);
      report();
    });
    if (outcome === "ok") {
      meter.done(n, blob.size);
      report();
      return;
    }
    meter.inFlight(n, 0);
    if (outcome === "expired") urls.delete(n);
    if (attempt >= MAX_TRIES) throw new Error(`part ${n} of ${session.partCount} could not be sent after ${MAX_TRIES} tries; reload the page to resume`);
    counts.retries++;
    report();
    await sleep(Math.min(8000, 500 * 2 ** (attempt - 1)));
  }
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

/** The part's URL, asking for the next batch when it has none (one request for all workers). */
async function partUrl(sending: Sending, n: number): Promise<string> {
  const { config, session, urls } = sending;
  for (let tries = 0; !urls.has(n); tries++) {
    if (tries >= 3) throw new Error(`the uploads API gave no URL for part ${n} of ${session.partCount}`);
    sending.refreshing ??= refreshUrls(config, session.uploadId, n, session.partCount, urls).finally(() => (sending.refreshing = undefined));
    await sending.refreshing;
  }
  return urls.get(n)!;
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

/** Bytes sent (finished parts plus what the parts in flight have sent so far), and the rate over a sliding window of a few seconds. */
class Meter {
  private sent = 0;
  private readonly current = new Map<number, number>();
  private readonly samples: { t: number; bytes: number }[] = [];
  /** Parts the store already had: counted as sent, but not as speed. */
  resumed(bytes: number): void {
    this.sent += bytes;
  }
  done(part: number, bytes: number): void {
    this.sent += bytes;
    this.current.delete(part);
    this.sample();
  }
  inFlight(part: number, bytes: number): void {
    this.current.set(part, bytes);
    this.sample();
  }
  get shown(): number {
    let shown = this.sent;
    for (const bytes of this.current.values()) shown += bytes;
    return shown;
  }
  rate(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 200) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }
  private sample(): void {
    const now = performance.now();
    this.samples.push({ t: now, bytes: this.shown });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 5000) this.samples.shift();
  }
}
