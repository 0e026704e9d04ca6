/** Files this stage writes into the delivery folder (removed again when the stage fails). */
export const DELIVERY_FILES: readonly string[] = ["scene.sog", "scene.spz", "index.html", "index.css", "index.js", "measure.js", "preview.webp", "thumbnail.jpg", "report.json"];

/** Folders it writes there: a large scene's streamed LOD bundle (src/lod.ts), and its folder while it is written. */
export const DELIVERY_FOLDERS: readonly string[] = ["lod", "lod.partial"];

/** The kinds of file inside the LOD bundle, one example path each (content types are per extension). */
export const LOD_BUNDLE_EXAMPLES: readonly string[] = ["lod/lod-meta.json", "lod/0_0/meta.json", "lod/0_0/means_l.webp", "lod/1_0/sh0.webp"];
