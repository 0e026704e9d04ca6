/** Files this stage writes into the delivery folder (removed again when the stage fails). */
export const DELIVERY_FILES: readonly string[] = ["scene.sog", "scene.spz", "index.html", "index.css", "index.js", "preview.webp", "thumbnail.jpg", "report.json"];
