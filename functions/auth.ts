/**
 * API keys: every request carries `Authorization: Bearer <key>` (or `x-api-key: <key>`). The
 * deployment only knows sha256 hashes of the keys, with a client name each
 * (`SPACEPORT_API_KEYS="website:<hex>,survey-scripts:<hex>"`). The presented key is hashed and
 * compared with every known hash in constant time, so neither timing nor an early exit tells
 * an attacker how close a guess was. Same check in Lambda and in the local runtime.
 *
 * New key: `node --import tsx functions/auth.ts new <client>` prints the key (give it to the
 * client once) and the line to add to the configuration.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { pathToFileURL } from "node:url";
import { ApiError } from "./errors.js";

export interface ApiKey {
  readonly client: string;
  /** sha256 of the key, 32 bytes. */
  readonly sha256: Buffer;
}

export const CLIENT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** Printable ASCII, no spaces: what `newApiKey` makes and what a header can carry safely. */
const KEY_SHAPE = /^[\x21-\x7e]{16,256}$/;

export const hashApiKey = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest();

export function newApiKey(): { key: string; sha256Hex: string } {
  const key = `sp_${randomBytes(32).toString("base64url")}`;
  return { key, sha256Hex: hashApiKey(key).toString("hex") };
}

/** `client:sha256hex` entries separated by commas, whitespace or newlines; or a JSON `{ client: hex }`. */
export function parseApiKeys(text: string, source = "apiKeys"): ApiKey[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  let pairs: [string, string][];
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new Error(`${source}: not valid JSON: ${(error as Error).message}`);
    }
    pairs = Object.entries(parsed as Record<string, unknown>).map(([client, hex]) => [client, String(hex)]);
  } else {
    pairs = trimmed.split(/[\s,]+/).map((entry) => {
      const colon = entry.lastIndexOf(":");
      if (colon <= 0) throw new Error(`${source}: entry "${entry.slice(0, 40)}" is not client:sha256hex`);
      return [entry.slice(0, colon), entry.slice(colon + 1)];
    });
  }
  const seen = new Set<string>();
  return pairs.map(([client, hex]) => {
    if (!CLIENT_NAME.test(client)) throw new Error(`${source}: client name "${client.slice(0, 40)}" must be letters, digits, '.', '_' or '-'`);
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${source}: the hash for client "${client}" must be 64 hex digits (sha256 of the key)`);
    const lower = hex.toLowerCase();
    if (seen.has(lower)) throw new Error(`${source}: the hash for client "${client}" is listed twice`);
    seen.add(lower);
    return { client, sha256: Buffer.from(lower, "hex") };
  });
}

/** The presented key, from `Authorization: Bearer` or `x-api-key`; headers are lower-cased. */
export function presentedKey(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const authorization = headers["authorization"];
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  return headers["x-api-key"]?.trim() || undefined;
}

/** The client name, or a 401 naming the header. */
export function authenticate(headers: Readonly<Record<string, string | undefined>>, keys: readonly ApiKey[]): string {
  const key = presentedKey(headers);
  const field = headers["authorization"] !== undefined ? "Authorization" : "x-api-key";
  const challenge = { "www-authenticate": 'Bearer realm="spaceport"' };
  if (key === undefined) {
    throw new ApiError(401, "Authorization", "an API key is required: send Authorization: Bearer <key>", "unauthorized", challenge);
  }
  if (!KEY_SHAPE.test(key)) throw new ApiError(401, field, "the API key is not valid", "unauthorized", challenge);
  const hash = hashApiKey(key);
  let match: string | undefined;
  for (const entry of keys) {
    // Every entry is compared: the time taken does not depend on which one (if any) matches.
    if (timingSafeEqual(hash, entry.sha256) && match === undefined) match = entry.client;
  }
  if (match === undefined) throw new ApiError(401, field, "the API key is not valid", "unauthorized", challenge);
  return match;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [command, client] = process.argv.slice(2);
  if (command !== "new" || !client || !CLIENT_NAME.test(client)) {
    console.error("usage: node --import tsx functions/auth.ts new <client-name>");
    process.exit(2);
  }
  const { key, sha256Hex } = newApiKey();
  console.log(`key (give to ${client}, shown once): ${key}`);
  console.log(`config entry (SPACEPORT_API_KEYS / spaceport:apiKeys): ${client}:${sha256Hex}`);
}
