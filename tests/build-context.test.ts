/**
 * The stage images' build context: every file a Dockerfile COPYs is sent by .dockerignore's
 * allow-list, and every module outside the stage folder that the compressor's program imports
 * is copied into its image. A miss here fails `docker build` (COPY: file not found) or the
 * stage at run time, first seen on deploy day; this check needs no Docker.
 */
import { describe, expect, it } from "@jest/globals";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

/** .dockerignore's rules in order: `!x` sends x, any other line keeps x out; the last match wins. */
function dockerignore(): (path: string) => boolean {
  const rules = readFileSync(join(ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const include = l.startsWith("!");
      const glob = (include ? l.slice(1) : l).replace(/\/$/, "");
      const re = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*/g, "\u0000").replace(/\*/g, "[^/]*").replace(/\u0000/g, ".*").replace(/\?/g, "[^/]");
      return { include, re: new RegExp(`^${re}$`) };
    });
  return (path: string) => {
    // a rule on a folder applies to everything under it
    const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    let sent = true;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) sent = rule.include;
    return sent;
  };
}

/** The sources of each COPY (not COPY --from) in a Dockerfile. */
function copySources(dockerfile: string): string[] {
  return readFileSync(dockerfile, "utf8")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l))
    .flatMap((l) => l.trim().split(/\s+/).slice(1, -1).filter((a) => !a.startsWith("--")));
}

const dockerfiles = readdirSync(join(ROOT, "images"))
  .map((stage) => join(ROOT, "images", stage, "Dockerfile"))
  .filter((f) => existsSync(f));

describe("stage image build context", () => {
  const sent = dockerignore();

  it.each(dockerfiles.map((f) => [relative(ROOT, f), f]))("%s: every COPY source exists and is sent", (_name, dockerfile) => {
    const sources = copySources(dockerfile);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, sent: sent(source) }).toEqual({ source, sent: true });
    }
  });

  it("the compressor's image holds every module outside images/ its program imports", () => {
    const copied = copySources(join(ROOT, "images", "compressor", "Dockerfile"));
    const inImage = (file: string) => copied.some((c) => file === c || file.startsWith(`${c.replace(/\/$/, "")}/`));
    const src = join(ROOT, "images", "compressor", "src");
    const files = readdirSync(src, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"));
    const outside = new Set<string>();
    for (const file of files) {
      for (const m of readFileSync(join(src, file), "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
        const target = relative(ROOT, resolve(dirname(join(src, file)), m[1]!.replace(/\.js$/, ".ts")));
        if (!target.startsWith("images/")) outside.add(target);
      }
    }
    expect(outside.size).toBeGreaterThan(0);
    for (const target of outside) expect({ target, inImage: inImage(target), sent: sent(target) }).toEqual({ target, inImage: true, sent: true });
  });

  it.each(dockerfiles.map((f) => [relative(ROOT, f), f]))("%s: every sibling Python module a copied script imports is copied too", (_name, dockerfile) => {
    const copied = copySources(dockerfile);
    const stageDir = dirname(dockerfile);
    for (const script of copied.filter((c) => c.endsWith(".py"))) {
      for (const m of readFileSync(join(ROOT, script), "utf8").matchAll(/^\s*(?:from\s+(\w+)\s+import|import\s+(\w+))/gm)) {
        const sibling = join(stageDir, `${m[1] ?? m[2]}.py`);
        if (existsSync(sibling)) expect({ script, imports: relative(ROOT, sibling), copied: copied.includes(relative(ROOT, sibling)) }).toEqual({ script, imports: relative(ROOT, sibling), copied: true });
      }
    }
  });

  it("keeps tests and benches out of the context", () => {
    expect(sent("images/compressor/tests/measure.test.ts")).toBe(false);
    expect(sent("images/gaussian-splatting/bench.py")).toBe(false);
    expect(sent("functions/http.ts")).toBe(false);
    expect(sent("images/sfm/sfm_stage/pipeline.py")).toBe(true);
  });
});
