/**
 * The HTTP layer shared by the Lambda wrappers (API Gateway HTTP API v2 events) and the local
 * runtime's node:http server: routing (method + path), body size limit, content type, safe
 * JSON parsing, API-key auth and per-client rate limits, and turning errors into JSON
 * answers. Handlers below it get an authenticated client and a parsed body, nothing raw.
 */
import { randomUUID } from "node:crypto";
import { authenticate, type ApiKey } from "./auth.js";
import { ApiError } from "./errors.js";
import type { Logger } from "./log.js";
import { jsonNestingDepth } from "../pipeline/json.js";
import { TokenBuckets } from "./rate-limit.js";
import { USER_PREFIX, userClient, verifiedUser, type VerifiedUser } from "./users.js";

export interface HttpRequest {
  readonly method: string;
  /** Raw path, no query string (`/jobs/20261126-093012-1a2b3c4d`). */
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string | Uint8Array;
  readonly sourceIp?: string;
  readonly requestId?: string;
  /** A signed-in user the API gateway verified (JWT authorizer); only for `/me/...` paths. */
  readonly user?: VerifiedUser;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RouteContext {
  readonly client: string;
  readonly params: Readonly<Record<string, string>>;
  /** Parsed JSON body (routes with `json: true`), else undefined. */
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly requestId: string;
}

export interface RouteResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface Route {
  readonly method: "GET" | "POST" | "DELETE";
  /** `/jobs/{id}`: `{name}` matches one path segment. */
  readonly path: string;
  /** The route takes a JSON body. */
  readonly json?: boolean;
  handle(context: RouteContext): Promise<RouteResult>;
}

export interface RouterOptions {
  readonly apiKeys: readonly ApiKey[];
  /** Per-client limit; requests without a valid key are limited per source IP by the same rule. */
  readonly rateLimit: { readonly ratePerSecond: number; readonly burst: number };
  readonly maxBodyBytes: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** Browser origins allowed to call the API (`*` for any); preflights are answered without auth. */
  readonly corsOrigins?: readonly string[];
}

export type Router = (request: HttpRequest) => Promise<HttpResponse>;

const MAX_PATH = 1024;
const MAX_JSON_DEPTH = 16;
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

interface CompiledRoute extends Route {
  readonly regex: RegExp;
  readonly names: readonly string[];
}

function compileRoute(route: Route): CompiledRoute {
  const names: string[] = [];
  const pattern = route.path
    .split("/")
    .map((segment) => {
      const param = /^\{([a-zA-Z]+)\}$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(param[1]!);
      return "([^/]+)";
    })
    .join("/");
  return { ...route, regex: new RegExp(`^${pattern}$`), names, handle: route.handle.bind(route) };
}

export function createRouter(routes: readonly Route[], options: RouterOptions): Router {
  const compiled = routes.map(compileRoute);
  const buckets = new TokenBuckets(options.rateLimit.ratePerSecond, options.rateLimit.burst, options.now);
  return async (request) => {
    const requestId = request.requestId ?? randomUUID();
    const response = await answer(request, requestId);
    return withCors(request, response, options.corsOrigins ?? []);
  };

  async function answer(request: HttpRequest, requestId: string): Promise<HttpResponse> {
    try {
      return await dispatch(request, requestId);
    } catch (error) {
      if (error instanceof ApiError) {
        if (error.status >= 500) options.log("error", "request_failed", { requestId, status: error.status, message: error.message });
        return json(error.status, error.toJSON(), { ...error.headers, "x-request-id": requestId });
      }
      options.log("error", "request_failed", { requestId, error: (error as Error)?.name, message: String((error as Error)?.message ?? error) });
      return json(500, { error: { code: "internal", field: "", message: `internal error (request ${requestId})` } }, { "x-request-id": requestId });
    }
  }

  async function dispatch(request: HttpRequest, requestId: string): Promise<HttpResponse> {
    // `/me/<route>`: the same route for a user the gateway signed in (functions/users.ts).
    const asUser = request.path.startsWith(USER_PREFIX);
    const path = asUser ? request.path.slice(USER_PREFIX.length - 1) : request.path;
    if (path.length > MAX_PATH) throw new ApiError(404, "path", "no such resource");
    const matching = compiled.filter((r) => r.regex.test(path));
    if (matching.length === 0) throw new ApiError(404, "path", "no such resource");
    const method = request.method.toUpperCase();
    if (method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined) return preflight(matching);
    const route = matching.find((r) => r.method === method);
    if (!route) {
      const allow = [...new Set(matching.map((r) => r.method))].join(", ");
      throw new ApiError(405, "method", `${method.slice(0, 10)} is not allowed here (allowed: ${allow})`, "method_not_allowed", { allow });
    }

    let client: string;
    try {
      client = asUser ? userClient(request.user) : authenticate(request.headers, options.apiKeys);
    } catch (error) {
      limit(`ip:${request.sourceIp ?? "unknown"}`);
      throw error;
    }
    limit(`client:${client}`);

    const params = routeParams(route, path);
    const body = route.json ? parseJsonBody(request, options.maxBodyBytes) : undefined;
    const result = await route.handle({ client, params, body, headers: request.headers, requestId });
    return json(result.status, result.body, { ...result.headers, "x-request-id": requestId });
  }

  function limit(key: string): void {
    const decision = buckets.take(key);
    if (!decision.ok) {
      throw new ApiError(429, "client", `too many requests: retry in ${decision.retryAfterSeconds} s`, "rate_limited", {
        "retry-after": String(decision.retryAfterSeconds),
      });
    }
  }
}

/** CORS headers on an answer to an allowed origin. */
function withCors(request: HttpRequest, response: HttpResponse, allowed: readonly string[]): HttpResponse {
  const origin = request.headers["origin"];
  if (!origin || !(allowed.includes("*") || allowed.includes(origin))) return response;
  return {
    ...response,
    headers: {
      ...response.headers,
      "access-control-allow-origin": allowed.includes("*") ? "*" : origin,
      "access-control-expose-headers": "location, retry-after, x-request-id, idempotent-replayed",
      vary: "origin",
    },
  };
}

/** The answer to a CORS preflight for the routes of a path. */
function preflight(matching: readonly { method: string }[]): HttpResponse {
  return {
    status: 204,
    headers: {
      "access-control-allow-methods": [...new Set(matching.map((r) => r.method)), "OPTIONS"].join(", "),
      "access-control-allow-headers": "authorization, content-type, idempotency-key, x-api-key",
      "access-control-max-age": "600",
    },
    body: "",
  };
}

/** `{name}` segments of a path, %-decoded. */
function routeParams(route: { regex: RegExp; names: readonly string[] }, path: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  const match = route.regex.exec(path)!;
  route.names.forEach((name, i) => {
    let value = match[i + 1]!;
    try {
      value = decodeURIComponent(value);
    } catch {
      throw new ApiError(400, name, `${name}: invalid %-escape`);
    }
    params[name] = value;
  });
  return params;
}

function parseJsonBody(request: HttpRequest, maxBytes: number): unknown {
  const contentType = request.headers["content-type"];
  if (!contentType || !/^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i.test(contentType.trim())) {
    throw new ApiError(415, "Content-Type", "Content-Type must be application/json");
  }
  const raw = request.body ?? "";
  const bytes = typeof raw === "string" ? Buffer.byteLength(raw, "utf8") : raw.byteLength;
  if (bytes > maxBytes) throw new ApiError(413, "body", `the body is larger than ${maxBytes} bytes`);
  let text: string;
  try {
    text = typeof raw === "string" ? raw : new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new ApiError(400, "body", "the body is not valid UTF-8");
  }
  if (text.trim() === "") throw new ApiError(400, "body", "the body is empty: send a JSON object");
  if (jsonNestingDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) throw new ApiError(400, "body", `the body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, function (key, value) {
      if (FORBIDDEN_KEYS.has(key)) throw new ApiError(400, key, `"${key}" is not an allowed field name`);
      return value;
    });
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "body", `the body is not valid JSON: ${(error as Error).message.slice(0, 120)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, "body", "the body must be a JSON object");
  }
  return parsed;
}

export function json(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): HttpResponse {
  return {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}

/** The subset of an API Gateway HTTP API (payload 2.0) event the router needs. */
export interface ApiGatewayV2Event {
  readonly rawPath?: string;
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: {
    readonly requestId?: string;
    readonly http?: { readonly method?: string; readonly path?: string; readonly sourceIp?: string };
    /** Present after the route's JWT authorizer verified the token. */
    readonly authorizer?: { readonly jwt?: { readonly claims?: Record<string, unknown> } };
  };
}
export interface ApiGatewayV2Result {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export function fromApiGatewayV2(event: ApiGatewayV2Event): HttpRequest {
  const headers: Record<string, string | undefined> = Object.create(null);
  for (const [name, value] of Object.entries(event.headers ?? {})) headers[name.toLowerCase()] = value;
  const http = event.requestContext?.http;
  return {
    method: http?.method ?? "GET",
    path: event.rawPath ?? http?.path ?? "/",
    headers,
    ...(event.body !== undefined ? { body: event.isBase64Encoded ? Buffer.from(event.body, "base64") : event.body } : {}),
    ...(http?.sourceIp ? { sourceIp: http.sourceIp } : {}),
    ...(event.requestContext?.requestId ? { requestId: event.requestContext.requestId } : {}),
    ...(verifiedUser(event) ? { user: verifiedUser(event)! } : {}),
  };
}

export function toApiGatewayV2(response: HttpResponse): ApiGatewayV2Result {
  return { statusCode: response.status, headers: response.headers, body: response.body };
}
