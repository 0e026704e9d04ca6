/**
 * `npm run synth -- --env prod`: the reviewable artifact of an infrastructure change, like
 * `pulumi preview` but with no CLI, engine or AWS account. Runs the project's program (Pulumi.yaml
 * `main`, index.ts) under Pulumi's mocks
 * with `Pulumi.<env>.yaml` and prints the resource inventory and key properties as JSON.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import { readStackConfig, runUnderMocks, type MockedRun } from "./mocks.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Large or noisy inputs, summarized: code by size and hash, JSON strings parsed, ASL by states. */
function summarize(key: string, value: unknown): unknown {
  if (key === "tags" || key === "tagsAll") return undefined;
  // The bundle itself is identified by the function's sourceCodeHash (sha256 of index.mjs).
  if (key === "code") return "index.mjs (esbuild bundle, see sourceCodeHash)";
  // The page's bundle (an S3 object's content): by size and hash; its config.json is shown as it is.
  if (key === "content" && typeof value === "string" && value.length > 2000) return { bytes: Buffer.byteLength(value), sha256: sha256(value) };
  if (key === "definition" && typeof value === "string") {
    const asl = JSON.parse(value) as { States: Record<string, { Type: string }> };
    return { sha256: sha256(value), bytes: Buffer.byteLength(value), states: Object.keys(asl.States) };
  }
  if ((key === "policy" || key === "assumeRolePolicy") && typeof value === "string") return JSON.parse(value);
  if (key === "variables" && value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, string>).map(([k, v]) => [k, k === "SPACEPORT_CONFIG" ? JSON.parse(v) : v]),
    );
  }
  return value;
}

/** Pulumi's wire marker of a secret value. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function clean(value: unknown, key = ""): unknown {
  if (value && typeof value === "object" && (value as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE) return "[secret]";
  const summarized = summarize(key, value);
  if (summarized !== value) return summarized;
  if (Array.isArray(value)) return value.map((v) => clean(v));
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = clean(v, k);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  return value;
}

export interface Inventory {
  readonly environment: string;
  readonly outputs: Record<string, unknown>;
  readonly counts: Record<string, number>;
  readonly resources: { type: string; name: string; properties: unknown }[];
}

export function inventory(run: MockedRun): Inventory {
  const counts: Record<string, number> = {};
  for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  const resources = [...run.resources]
    .sort((a, b) => a.type.localeCompare(b.type) || a.name.localeCompare(b.name))
    .map((r) => ({ type: r.type, name: r.name, properties: clean(r.inputs) }));
  return {
    environment: run.environment,
    outputs: run.outputs,
    counts: Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b))),
    resources,
  };
}

/** The program Pulumi runs: `main` of Pulumi.yaml (default index.ts), as the Pulumi CLI finds it. */
export function programOf(root: string): string {
  const project = parseYaml(readFileSync(resolve(root, "Pulumi.yaml"), "utf8")) as { main?: unknown } | null;
  return resolve(root, typeof project?.main === "string" ? project.main : "index.ts");
}

/** One mocked run of the project's program for an environment (config from `Pulumi.<env>.yaml` unless given). */
export async function synth(environment: string, configFile = resolve(ROOT, `Pulumi.${environment}.yaml`)): Promise<MockedRun> {
  const program = programOf(ROOT);
  return runUnderMocks({ load: () => import(pathToFileURL(program).href) as Promise<{ default?: unknown }>, environment, config: readStackConfig(configFile, environment) });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      env: { type: "string", default: "prod" },
      config: { type: "string" },
      asl: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(
      [
        "usage: npm run synth -- [--env <name>] [--config <Pulumi.<env>.yaml>] [--asl]",
        "Runs the Pulumi program (index.ts) under mocks: no Pulumi CLI, no AWS account.",
        "Prints JSON: stack outputs, resource counts by type, every resource with its key properties.",
        "--asl also prints the deployed state machine definition (the compiler's output).",
      ].join("\n"),
    );
    return;
  }
  const environment = values.env!;
  const run = await synth(environment, values.config ? resolve(values.config) : undefined);
  const result: Record<string, unknown> = { ...inventory(run) };
  if (values.asl) {
    const machine = run.resources.find((r) => r.type === "aws:sfn/stateMachine:StateMachine");
    result["definition"] = machine ? JSON.parse(String(machine.inputs["definition"])) : null;
  }
  // Written in full before the exit below: to a pipe, stdout is asynchronous and process.exit would cut it.
  await new Promise<void>((done, fail) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`, (error) => (error ? fail(error) : done())));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`synth failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
