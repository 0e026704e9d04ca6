/** Request bodies of the uploads API, validated with valibot; every error names its field. */
import * as v from "valibot";
import { ApiError } from "../errors.js";
import { MAX_URLS_PER_REQUEST } from "./parts.js";

export interface StartUploadBody {
  /** The ZIP's file name as kept in the object key (`site-1.zip`). */
  readonly name: string;
  readonly size: number;
}

/** A file name S3 keys and start-job's input check both accept, ending in .zip. */
export const UPLOAD_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}\.zip$/i;

const startSchema = v.strictObject(
  {
    name: v.pipe(
      v.string("must be a string"),
      v.regex(UPLOAD_NAME, "must be a .zip file name of letters, digits, '.', '_' and '-' (at most 124 characters)"),
    ),
    size: v.pipe(v.number("must be a number of bytes"), v.safeInteger("must be a whole number of bytes"), v.minValue(1, "must be at least 1 byte")),
  },
  "the body must be a JSON object",
);

const partsSchema = v.strictObject(
  {
    partNumbers: v.pipe(
      v.array(v.pipe(v.number("must be numbers"), v.safeInteger("must be whole numbers"), v.minValue(1, "must start at 1")), "must be an array of part numbers"),
      v.maxLength(MAX_URLS_PER_REQUEST, `must list at most ${MAX_URLS_PER_REQUEST} parts per request`),
    ),
  },
  "the body must be a JSON object",
);

/** The first problem as a 400 naming its field (an unknown field first: it explains a missing one). */
function fail(issues: readonly v.BaseIssue<unknown>[], known: string): never {
  const issue = issues.find((i) => i.expected === "never" && i.kind === "schema") ?? issues[0]!;
  const path = v.getDotPath(issue)?.replace(/\.\d+$/, "");
  const field = path ?? "body";
  if (issue.expected === "never" && issue.kind === "schema") throw new ApiError(400, field, `${field}: unknown field (expected ${known})`);
  const message = issue.input === undefined && issue.kind === "schema" && path ? "is required" : issue.message;
  throw new ApiError(400, field, `${field}: ${message}`);
}

export function parseStartUploadBody(body: unknown): StartUploadBody {
  const result = v.safeParse(startSchema, body);
  if (!result.success) fail(result.issues, "name, size");
  return result.output;
}

export function parsePartNumbers(body: unknown, partCount: number): number[] {
  const result = v.safeParse(partsSchema, body);
  if (!result.success) fail(result.issues, "partNumbers");
  const beyond = result.output.partNumbers.find((n) => n > partCount);
  if (beyond !== undefined) throw new ApiError(400, "partNumbers", `partNumbers: part ${beyond} is beyond the last part (${partCount})`);
  return [...new Set(result.output.partNumbers)];
}
