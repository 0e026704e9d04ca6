/**
 * The page as static files: index.html and one esbuild bundle of src/main.ts (with client-zip).
 * `spaceport dev` / `run` serve them locally (pipeline/local/webapp-route.ts); on AWS the same
 * files go behind CloudFront, next to a config.json that names the API and the sign-in, never a key.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

export const WEBAPP_DIR = dirname(fileURLToPath(import.meta.url));

export interface WebAppFiles {
  readonly "index.html": string;
  readonly "app.js": string;
}

export function buildWebApp(): WebAppFiles {
  const result = buildSync({
    entryPoints: [join(WEBAPP_DIR, "src", "main.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
  });
  return { "index.html": readFileSync(join(WEBAPP_DIR, "index.html"), "utf8"), "app.js": result.outputFiles[0]!.text };
}
