/**
 * The local server's stand-in for S3's presigned part PUT: `PUT /multipart/<uploadId>/<part>
 * ?expires=…&signature=…` stores one part of a multipart upload (no API key: the signature is
 * the permission, as with a presigned URL) and answers 200 with its `ETag`, as S3 does.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError } from "../../functions/errors.js";
import { MULTIPART_ROUTE, type LocalMultipartUploads } from "../../functions/adapters/local/multipart-uploads.js";

export const isPartUpload = (pathname: string, method: string | undefined): boolean => method === "PUT" && pathname.startsWith(MULTIPART_ROUTE);

export async function receivePart(uploads: LocalMultipartUploads, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [uploadId = "", part = ""] = url.pathname.slice(MULTIPART_ROUTE.length).split("/");
  try {
    if (!/^\d{1,5}$/.test(part)) throw new ApiError(404, "path", "no such part: PUT /multipart/<upload id>/<part number>");
    const etag = await uploads.receivePart(uploadId, Number(part), url.searchParams, req);
    res.writeHead(200, { etag, "access-control-expose-headers": "etag" });
    res.end();
  } catch (error) {
    // Anything but our own refusals is a failed transfer (a dropped connection): the page retries it.
    const apiError = error instanceof ApiError ? error : new ApiError(400, "body", "the part did not arrive whole; send it again");
    if (!res.headersSent) res.writeHead(apiError.status, { "content-type": "application/json; charset=utf-8", connection: "close" });
    res.end(JSON.stringify(apiError.toJSON()));
    req.resume();
  }
}
