// Puts the measuring tool on the viewer page splat-transform's HTML writer emits: measure.js
// (src/page, bundled here with esbuild) beside index.js, the model's frame as a JSON block, and
// the page's application script keeps createViewer's handle and hands it to the tool. The
// viewer's own code (index.js) is delivered as the writer made it.
import { build } from "esbuild";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MEASURE_CONFIG_ID, type MeasureConfig } from "./page/measure-config.js";
import type { Georeference } from "./upstream.js";

export const MEASURE_SCRIPT = "measure.js";
const ENTRY = join(dirname(fileURLToPath(import.meta.url)), "page", "measure-ui.ts");

/** What the page's tool is told about the model's frame (null georeference: nothing known, so relative). */
export function measureConfig(geo: Georeference | null): MeasureConfig {
  const metric = geo?.metric === true;
  const northKnown = geo?.frame === "enu";
  const relativeReason = metric ? null
    : northKnown ? "Relative distances: the GPS fit is poor, so this model is not reliably to scale; no units are shown."
      : "Relative distances: this model has no GPS frame, so it is not to scale; no units are shown.";
  return { metric, northKnown, site: northKnown && geo?.origin ? geo.origin : null, relativeReason };
}

/** measure.js: the tool and its arithmetic in one browser module. */
export async function measureScript(): Promise<Uint8Array> {
  const out = await build({ entryPoints: [ENTRY], bundle: true, format: "esm", target: "es2020", write: false, legalComments: "none", logLevel: "silent" });
  const file = out.outputFiles[0];
  if (!file) throw new Error("esbuild produced no measure.js");
  return file.contents;
}

const APP_CALL = /createViewer\(\{ container: document\.body, settings, \.\.\.options \}\);/;

/** The page with the tool's frame block and the handle passed on; throws when the writer's page no longer has the call it extends. */
export function withMeasureTool(html: string, config: MeasureConfig): string {
  if (!APP_CALL.test(html)) throw new Error("viewer page has no createViewer call to extend with the measuring tool");
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  const block = `<script type="application/json" id="${MEASURE_CONFIG_ID}">${json}</script>`;
  // the tool stays off the headless preview (?noui), as the viewer's own controls do; a tool
  // that fails to load leaves the viewer as it is
  const call = `const viewer = await createViewer({ container: document.body, settings, ...options });
            if (options.ui) import('./${MEASURE_SCRIPT}')
                .then((m) => m.attachMeasure(viewer, JSON.parse(document.getElementById('${MEASURE_CONFIG_ID}').textContent)))
                .catch((e) => console.warn('measuring tool unavailable:', e));`;
  return html.replace(APP_CALL, () => call).replace(/<\/head>/, () => `    ${block}\n    </head>`);
}
