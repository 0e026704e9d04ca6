/**
 * The local server's edge between node:http and the functions' router: reading a request body
 * within a limit without destroying the request (so the router can still answer 413 on the same
 * connection), header normalisation, and the one answer for an unexpected error: a 500 that is
 * logged with a request id and carries no internal text.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../functions/errors.js";
import type { Logger } from "../../functions/log.js";

/** Bytes read and thrown away past the limit before the connection is closed instead. */
export const MAX_DRAINED_BYTES = 64 * 1024 * 1024;

export interface LimitedBody {
  /** At most `limit` + 1 bytes: enough for the router to see that the limit was passed. */
  readonly body: Buffer;
  /** The client sent more than MAX_DRAINED_BYTES past the limit: close the connection after answering. */
  readonly closeAfter: boolean;
}

/**
 * Reads up to `limit` + 1 bytes and drains (reads and drops) the rest up to MAX_DRAINED_BYTES.
 * Breaking out of the request's async iterator would destroy it (and its socket) before the
 * answer is written: the client would see a reset instead of a 413.
 */
export function readLimitedBody(req: IncomingMessage, limit: number): Promise<LimitedBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let seen = 0;
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (kept <= limit) {
        const part = chunk.subarray(0, limit + 1 - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (seen > limit + 1 + MAX_DRAINED_BYTES) {
        req.off("data", onData);
        req.pause();
        resolve({ body: Buffer.concat(chunks), closeAfter: true });
      }
    };
    req.on("data", onData);
    req.once("end", () => resolve({ body: Buffer.concat(chunks), closeAfter: false }));
    req.once("error", reject);
  });
}

export function headersOf(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  return headers;
}

/** The answer for anything unexpected: logged in full with a request id, answered without internal text. */
export function answerInternalError(res: ServerResponse, log: Logger, error: unknown, context: { method?: string; path?: string }): void {
  const requestId = randomUUID();
  log("error", "request_failed", {
    requestId,
    ...context,
    error: (error as Error)?.name,
    message: String((error as Error)?.message ?? error),
  });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-request-id": requestId });
  res.end(JSON.stringify({ error: { code: "internal", field: "", message: `internal error (request ${requestId})` } }));
}

/** A %-decoded path segment, or undefined for a malformed escape. */
export function decodePathPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** The request's bytes, failing with a 413 as soon as they pass `limit`. */
export async function* limitBytes(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) throw new ApiError(413, "body", `the upload is larger than ${limit} bytes`);
    yield chunk;
  }
}
