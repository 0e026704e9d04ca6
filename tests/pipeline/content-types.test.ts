import { DELIVERY_FILES, LOD_BUNDLE_EXAMPLES } from "../../images/compressor/src/delivery-files.js";
import { contentTypeFor, extensionOf } from "../../pipeline/content-types.js";

describe("content types", () => {
  test("the viewer's module script and stylesheet are typed (nosniff blanks the page otherwise)", () => {
    expect(contentTypeFor("jobs/j/delivery/index.js")).toBe("text/javascript; charset=utf-8");
    expect(contentTypeFor("jobs/j/delivery/index.css")).toBe("text/css; charset=utf-8");
    expect(contentTypeFor("jobs/j/delivery/index.html")).toBe("text/html; charset=utf-8");
    expect(contentTypeFor("/srv/data/INDEX.HTML")).toBe("text/html; charset=utf-8");
  });

  test("every file the compressor writes has a type of its own or is a binary scene file", () => {
    for (const file of DELIVERY_FILES) {
      const type = contentTypeFor(file);
      if (type === "application/octet-stream") expect(file).toMatch(/\.(sog|spz)$/);
    }
  });

  test("the streamed LOD bundle's index and chunk metadata are JSON, its textures WebP, also in nested folders", () => {
    const types = LOD_BUNDLE_EXAMPLES.map((f) => [f, contentTypeFor(`jobs/j/delivery/${f}`)]);
    expect(types).toEqual([
      ["lod/lod-meta.json", "application/json"], ["lod/0_0/meta.json", "application/json"],
      ["lod/0_0/means_l.webp", "image/webp"], ["lod/1_0/sh0.webp", "image/webp"],
    ]);
  });

  test("extensions: last dot of the last segment only; dotfiles and folders with dots have none", () => {
    expect(extensionOf("a.b/c")).toBe("");
    expect(extensionOf("a/.hidden")).toBe("");
    expect(extensionOf("a/scene.tar.gz")).toBe(".gz");
  });
});
