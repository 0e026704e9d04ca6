/**
 * Stack configuration as the Pulumi engine hands it to the program: every key of
 * `Pulumi.<env>.yaml` as a string (objects and numbers JSON-encoded). Turned into the one
 * validated `EnvironmentConfig`; unknown `spaceport:` keys and invalid values fail naming the key.
 */
import { fromPulumiKeys, parseEnvironmentConfig, type EnvironmentConfig } from "../environment.js";

/** Decodes the engine's string values: JSON where it parses (objects, numbers), else the text. */
export function decodeConfigValue(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** `pulumi.runtime.allConfig()` → the environment's validated settings. */
export function environmentFromPulumiConfig(environment: string, all: Readonly<Record<string, string>>): EnvironmentConfig {
  const decoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(all)) {
    // Strings that only look like JSON stay strings for the keys that hold text.
    decoded[key] = key === "aws:region" || key === "spaceport:sesSender" || key === "spaceport:alarmEmail" || key === "spaceport:sesDomain"
      ? value
      : decodeConfigValue(value);
  }
  return parseEnvironmentConfig(environment, fromPulumiKeys(decoded));
}

/** The engine's encoding of a YAML config value (what `pulumi up` passes for it). */
export function encodeConfigValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}
