/**
 * Compile-time references to execution data. The compiler builds each SageMaker request as
 * a real, typed SDK object whose dynamic strings hold `⟦$.path⟧` markers; `toAslParameters`
 * then turns every such string into the `Key.$` form Step Functions resolves at run time.
 * So one typed object is both what the tests validate and what the state machine sends.
 */
const OPEN = "⟦";
const CLOSE = "⟧";
const REFERENCE = /⟦(\$[^⟧]*)⟧/g;

export const ref = (path: string): string => `${OPEN}${path}${CLOSE}`;

function escapeFormatLiteral(text: string): string {
  return text.replace(/[\\'{}]/g, (c) => `\\${c}`);
}

/** A string with markers → a JSONPath or a `States.Format(...)` intrinsic; else undefined. */
export function referenceExpression(value: string): string | undefined {
  const paths = [...value.matchAll(REFERENCE)].map((m) => m[1]!);
  if (paths.length === 0) return undefined;
  if (paths.length === 1 && value === ref(paths[0]!)) return paths[0]!;
  const template = value
    .split(REFERENCE)
    .map((part, i) => (i % 2 === 1 ? "{}" : escapeFormatLiteral(part)))
    .join("");
  return `States.Format('${template}', ${paths.join(", ")})`;
}

/** Recursively rewrites an object for ASL `Parameters`. */
export function toAslParameters(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toAslParameters);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    if (inner === undefined) continue;
    const expression = typeof inner === "string" ? referenceExpression(inner) : undefined;
    if (expression !== undefined) out[`${key}.$`] = expression;
    else out[key] = toAslParameters(inner);
  }
  return out;
}

/** Replaces markers with concrete values (tests and local previews of a job's requests). */
export function resolveReferences<T>(value: T, lookup: (path: string) => string): T {
  if (typeof value === "string") return value.replace(REFERENCE, (_, path: string) => lookup(path)) as T;
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, lookup)) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, resolveReferences(v, lookup)]),
  ) as T;
}
