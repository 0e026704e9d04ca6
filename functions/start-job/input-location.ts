/**
 * Where a job's photos ZIP is: the accepted spellings of an S3 object, parsed strictly.
 *   s3://bucket/key                                   (key taken literally)
 *   https://bucket.s3.amazonaws.com/key               (key URL-decoded)
 *   https://bucket.s3.<region>.amazonaws.com/key
 *   https://s3.amazonaws.com/bucket/key
 *   https://s3.<region>.amazonaws.com/bucket/key
 * The raw text is parsed by hand, not by `new URL`, so `..` and `%2e%2e` segments are seen and
 * rejected instead of silently resolved. A query string (e.g. a presigned URL's) is ignored:
 * the object is read with the function's own permissions.
 */
import { ApiError } from "../errors.js";

export interface InputLocation {
  readonly bucket: string;
  readonly key: string;
  readonly region?: string;
}

export const MAX_INPUT_TEXT = 2048;
const MAX_KEY_BYTES = 1024;
export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** Parses `text`; every error is a 400 naming `field`. */
export function parseInputLocation(text: string, field = "input"): InputLocation {
  const fail = (reason: string): never => {
    throw new ApiError(400, field, reason);
  };
  if (text.length === 0) fail("must not be empty");
  if (text.length > MAX_INPUT_TEXT) fail(`is longer than ${MAX_INPUT_TEXT} characters`);
  if (/[\x00-\x1f\x7f]/.test(text)) fail("must not contain control characters");

  let bucket: string;
  let key: string;
  let region: string | undefined;
  const s3 = /^s3:\/\/([^/]*)\/(.*)$/s.exec(text);
  if (s3) {
    bucket = s3[1]!;
    key = s3[2]!;
  } else if (/^https:\/\//i.test(text)) {
    if (text.includes(" ")) fail("must not contain spaces: URL-encode them (%20)");
    const match = /^https:\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/is.exec(text);
    if (!match) return fail("is not a valid https URL");
    const host = match[1]!.toLowerCase();
    const path = match[2] ?? "/";
    if (host.includes("@")) fail("must not contain user information");
    if (host.includes(":") && !host.endsWith(":443")) fail("must not name a port");
    const hostname = host.replace(/:443$/, "");
    const decodedPath = decodePath(path, fail);
    const virtual = /^(.+)\.s3(?:\.([a-z0-9-]+))?\.amazonaws\.com$/.exec(hostname);
    const pathStyle = /^s3(?:\.([a-z0-9-]+))?\.amazonaws\.com$/.exec(hostname);
    if (pathStyle) {
      region = pathStyle[1];
      const slash = decodedPath.indexOf("/", 1);
      if (slash < 0) fail("names a bucket but no object key: use https://s3.<region>.amazonaws.com/<bucket>/<key>.zip");
      bucket = decodedPath.slice(1, slash);
      key = decodedPath.slice(slash + 1);
    } else if (virtual) {
      bucket = virtual[1]!;
      region = virtual[2];
      key = decodedPath.slice(1);
    } else {
      return fail("must be an S3 location: s3://bucket/key.zip or https://bucket.s3.<region>.amazonaws.com/key.zip");
    }
  } else {
    return fail("must be an S3 location: s3://bucket/key.zip or an https S3 URL");
  }

  if (region !== undefined && !REGION.test(region)) fail(`names an unknown region "${region.slice(0, 40)}"`);
  if (!BUCKET_NAME.test(bucket!) || bucket!.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucket!)) {
    fail(`bucket "${bucket!.slice(0, 70)}" is not a valid S3 bucket name`);
  }
  checkKey(key!, fail);
  return region === undefined ? { bucket: bucket!, key: key! } : { bucket: bucket!, key: key!, region };
}

function decodePath(path: string, fail: (reason: string) => never): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return fail("has an invalid %-escape in its path");
  }
}

function checkKey(key: string, fail: (reason: string) => never): void {
  if (key === "") fail("names no object key");
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) fail(`object key is longer than ${MAX_KEY_BYTES} bytes`);
  if (/[\x00-\x1f\x7f]/.test(key)) fail("object key must not contain control characters");
  if (key.startsWith("/")) fail("object key must not start with '/'");
  if (key.includes("\\")) fail("object key must not contain backslashes");
  const segments = key.split("/");
  if (segments.some((s) => s === "." || s === "..")) fail("object key must not contain '.' or '..' path segments");
  if (segments.some((s) => s === "")) fail("object key must not contain empty path segments ('//' or a trailing '/')");
  const base = segments[segments.length - 1]!;
  if (!/\.zip$/i.test(base) || base.length <= 4) fail("must be a .zip file (the key must end in .zip)");
}
