/**
 * Bundles a Lambda handler (TypeScript, ESM) into one `index.mjs` with esbuild, in memory.
 * Node 22 on Lambda; the AWS SDK is bundled too, so the deployed code runs the versions
 * the tests ran rather than whatever the runtime ships.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { buildSync } from "esbuild";

export interface Bundle {
  /** Entry file, relative to the repository root. */
  readonly entry: string;
  readonly code: string;
  readonly sha256: string;
  readonly bytes: number;
  /** Source files that went into the bundle, relative to the root. */
  readonly inputs: readonly string[];
}

/** ESM output loading CommonJS dependencies needs a `require`. */
const BANNER = "import { createRequire as __spaceportCreateRequire } from 'node:module'; const require = __spaceportCreateRequire(import.meta.url);";

export function bundleHandler(root: string, entry: string): Bundle {
  const file = isAbsolute(entry) ? entry : resolve(root, entry);
  if (!existsSync(file)) {
    throw new Error(`Lambda entry ${entry} does not exist (looked for ${file}); it must export "handler"`);
  }
  const result = buildSync({
    entryPoints: [file],
    absWorkingDir: root,
    bundle: true,
    write: false,
    platform: "node",
    target: "node22",
    format: "esm",
    minify: true,
    sourcemap: false,
    legalComments: "none",
    banner: { js: BANNER },
    logLevel: "silent",
    metafile: true,
  });
  const code = result.outputFiles[0]!.text;
  return {
    entry,
    code,
    sha256: createHash("sha256").update(code).digest("hex"),
    bytes: Buffer.byteLength(code),
    inputs: Object.keys(result.metafile.inputs),
  };
}
