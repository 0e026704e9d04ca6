/**
 * The start-job request body, validated with valibot. The options part is built from the
 * pipeline's job options (`pipeline.options`, declared by the stages with `jobOption`), so
 * the allowed values and defaults live in one place: the stage definitions.
 */
import * as v from "valibot";
import type { Pipeline } from "../../pipeline/define.js";
import { ApiError } from "../errors.js";
import { MAX_INPUT_TEXT } from "./input-location.js";

export const MAX_EMAIL_LENGTH = 254;

export interface StartJobBody {
  /** The input location text as submitted (`input`, or `s3Url` on the legacy route). */
  readonly input: string;
  readonly email: string;
  /** Every pipeline option, defaults filled in. */
  readonly options: Readonly<Record<string, string>>;
}

const email = v.pipe(
  v.string("must be a string"),
  v.nonEmpty("is required"),
  v.maxLength(MAX_EMAIL_LENGTH, `must be at most ${MAX_EMAIL_LENGTH} characters`),
  v.email("must be a valid email address"),
);
const location = v.pipe(
  v.string("must be a string"),
  v.nonEmpty("must not be empty"),
  v.maxLength(MAX_INPUT_TEXT, `must be at most ${MAX_INPUT_TEXT} characters`),
);

function optionsSchema(pipeline: Pipeline) {
  const entries: v.ObjectEntries = {};
  for (const option of Object.values(pipeline.options)) {
    entries[option.name] = v.optional(
      v.picklist(option.values as string[], `must be one of ${option.values.map((x) => `"${x}"`).join(", ")}`),
      option.default,
    );
  }
  return v.optional(v.strictObject(entries, "must be an object"), {});
}

const schemas = new WeakMap<Pipeline, { modern: v.GenericSchema; legacy: v.GenericSchema }>();
function schemasFor(pipeline: Pipeline) {
  let found = schemas.get(pipeline);
  if (!found) {
    const options = optionsSchema(pipeline);
    found = {
      modern: v.strictObject({ input: location, email, options }, "the body must be a JSON object"),
      legacy: v.strictObject({ s3Url: location, email, options }, "the body must be a JSON object"),
    };
    schemas.set(pipeline, found);
  }
  return found;
}

/** Validates a parsed JSON body; the first problem becomes a 400 naming its field. */
export function parseStartJobBody(body: unknown, pipeline: Pipeline, legacy: boolean): StartJobBody {
  const { modern, legacy: old } = schemasFor(pipeline);
  const result = v.safeParse(legacy ? old : modern, body);
  if (!result.success) {
    // An unknown field explains more than the "required" issue it often causes (`input` sent to the legacy route).
    const issue = result.issues.find((i) => i.expected === "never" && i.kind === "schema") ?? result.issues[0]!;
    const path = v.getDotPath(issue);
    const field = path ?? "body";
    if (issue.expected === "never" && issue.kind === "schema") {
      const known = path?.startsWith("options.")
        ? `unknown option (known: ${Object.keys(pipeline.options).join(", ") || "none"})`
        : `unknown field (expected ${legacy ? "s3Url" : "input"}, email, options)`;
      throw new ApiError(400, field, `${field}: ${known}`);
    }
    const message = issue.input === undefined && issue.kind === "schema" && path ? "is required" : issue.message;
    throw new ApiError(400, field, `${field}: ${message}`);
  }
  const output = result.output as { input?: string; s3Url?: string; email: string; options: Record<string, string> };
  return { input: (legacy ? output.s3Url : output.input)!, email: output.email, options: { ...output.options } };
}
