// The viewer page of a large scene: the SuperSplat viewer streams lod-meta.json itself (coarsest
// level first, then detail up to its splat budget). This adds what the viewer leaves to its
// host: a budget per device class (phone or desktop, ours, unless the URL gives `?budget=`), a
// line that says the scene streams, and a link to the single-file version (`?content=./scene.sog`,
// the viewer's own parameter). `window.spaceportLod` says what the page chose.
import { LOD_INDEX } from "./lod.js";

export const LOD_PAGE_CONFIG_ID = "spaceport-lod-config";
export type LodPageConfig = { budgets: { phone: number; desktop: number } };

const APP_SCRIPT = /<!-- Application Script -->/;
const BADGE_END = /(<div id="spaceport-title"[^>]*>[\s\S]*?)(<\/div>\s*<!-- Application Script -->)/;

// Runs before the application script (module scripts run in document order) and sets the
// viewer's `budget` option (millions of splats) from the device class.
const CHOOSER = `<script type="module">
            const lod = JSON.parse(document.getElementById('${LOD_PAGE_CONFIG_ID}').textContent);
            const options = window.sse.options;
            const phone = matchMedia('(pointer: coarse)').matches || Math.min(screen.width, screen.height) < 600 ||
                /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);
            const deviceClass = phone ? 'phone' : 'desktop';
            const streamed = new URL(options.contentUrl, location.href).pathname.toLowerCase().endsWith('/lod-meta.json');
            if (streamed && options.budget === undefined) options.budget = lod.budgets[deviceClass] / 1e6;
            window.spaceportLod = { deviceClass, streamed, budget: streamed ? Math.round(options.budget * 1e6) : null, content: options.contentUrl };
            const line = document.getElementById('spaceport-lod');
            if (line) {
                const link = line.querySelector('a');
                line.firstChild.textContent = streamed
                    ? 'Large scene: streamed in levels of detail, up to ' + (options.budget >= 1 ? options.budget + ' M' : Math.round(options.budget * 1000) + ' k') + ' splats on this ' + deviceClass + ' · '
                    : 'Large scene, as one file · ';
                link.textContent = streamed ? 'open as one file' : 'stream it';
                link.href = streamed ? '?content=./scene.sog' : location.pathname;
            }
        </script>`;

/** The page with its content pointed at the LOD bundle's index, the chooser and its line; throws when the page lacks the seams. */
export function withLodStreaming(html: string, config: LodPageConfig): string {
  if (!APP_SCRIPT.test(html)) throw new Error("viewer page has no application script to stream the scene before");
  if (!BADGE_END.test(html)) throw new Error("viewer page has no title badge for the streaming line");
  const json = JSON.stringify(config).replace(/</g, "\\u003c");
  const block = `<script type="application/json" id="${LOD_PAGE_CONFIG_ID}">${json}</script>`;
  const line = `<div id="spaceport-lod" style="font:400 13px/1.3 system-ui,sans-serif">Large scene · <a style="color:#9cf;pointer-events:auto" href="?content=./scene.sog">open as one file</a></div>`;
  return html
    .replace(BADGE_END, (_, badge: string, end: string) => `${badge}${line}${end}`)
    .replace(APP_SCRIPT, (m) => `${block}\n        ${CHOOSER}\n        ${m}`);
}

/** The bootstrap's content URL: the LOD index for a streamed page, else the single file. */
export const contentUrlFor = (streamed: boolean): string => (streamed ? `./${LOD_INDEX}` : "./scene.sog");
