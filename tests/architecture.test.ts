/**
 * The layering, read from the sources, so it stays true:
 *
 *   DSL core       pipeline/*.ts, pipeline/sagemaker/    imports no runtime, no handler, no stage
 *   handlers       functions/                            the core only (and their own adapters)
 *   runtimes       pipeline/local/, pipeline/pulumi/     core, handlers and the page, never a stage
 *   page           webapp/                               its own modules only (it runs in the browser)
 *   stages         stages/<stage>.ts, spaceport.ts       the core only
 *   roots          index.ts, stages/cli.ts, stages/lambda/, describe.ts, bench*.ts, summary.ts
 *
 * plus the size rules of the guide: no source file over 400 lines outside tests, no function
 * over 80 lines (TypeScript by its syntax tree, Python by its own `ast`).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP = new Set(["node_modules", ".git", ".spaceport", ".bench", "tests", "__pycache__", "dist", "coverage"]);

function files(dir: string, ends: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir))) {
    if (SKIP.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...files(path, ends));
    else if (ends.some((e) => entry.endsWith(e)) && !entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const SOURCE_DIRS = ["pipeline", "functions", "stages", "images", "samples", "scripts", "bin", "webapp"];
const tsSources = [...SOURCE_DIRS.flatMap((d) => files(d, [".ts"])), "index.ts"];

/** Every module a file imports (static, dynamic, re-exports), as repository paths without extension. */
function importsOf(file: string): string[] {
  // TypeScript's own scanner: imports, re-exports and import() calls, never text in comments.
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith("."))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.(js|ts)$/, ""));
}

type Layer = "core" | "handlers" | "runtime" | "stage" | "root" | "image" | "page" | "other";

const ROOTS = new Set(["index", "stages/cli", "stages/describe", "stages/summary"]);

function layerOf(module: string): Layer {
  if (ROOTS.has(module) || module.startsWith("stages/lambda/") || module.startsWith("stages/bench")) return "root";
  if (module.startsWith("stages/")) return "stage";
  if (module.startsWith("pipeline/local/") || module.startsWith("pipeline/pulumi/")) return "runtime";
  if (module.startsWith("pipeline/")) return "core";
  if (module.startsWith("functions/")) return "handlers";
  if (module.startsWith("images/")) return "image";
  if (module.startsWith("webapp/")) return "page";
  return "other";
}

/** What each layer may import. */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  core: ["core"],
  handlers: ["core", "handlers"],
  runtime: ["core", "handlers", "runtime", "page"],
  stage: ["core", "stage"],
  root: ["core", "handlers", "runtime", "stage", "root"],
  image: ["image", "core"],
  page: ["page"],
  other: ["core", "handlers", "runtime", "stage", "root", "image", "page", "other"],
};

describe("architecture", () => {
  it("reads the sources it checks", () => {
    expect(tsSources).toContain("pipeline/compile.ts");
    expect(tsSources).toContain("functions/config.ts");
    expect(importsOf("functions/config.ts")).toContain("pipeline/environment");
  });

  it("imports run down the layers only: core < handlers < runtimes < composition roots; stages use the core", () => {
    const wrong: string[] = [];
    for (const file of tsSources) {
      const from = layerOf(file.replace(/\.ts$/, ""));
      for (const target of importsOf(file)) {
        const to = layerOf(target);
        if (!ALLOWED[from].includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("no file under functions/ or pipeline/ imports stages/ or index.ts, and the DSL core no runtime or handler", () => {
    const offenders = tsSources
      .filter((f) => f.startsWith("functions/") || f.startsWith("pipeline/"))
      .flatMap((f) => importsOf(f).filter((t) => t === "index" || t.startsWith("stages/")).map((t) => `${f} → ${t}`));
    expect(offenders).toEqual([]);
    const core = tsSources.filter((f) => layerOf(f.replace(/\.ts$/, "")) === "core");
    expect(core.length).toBeGreaterThan(10);
    expect(core.flatMap((f) => importsOf(f).filter((t) => layerOf(t) !== "core").map((t) => `${f} → ${t}`))).toEqual([]);
  });

  it("the stage contract imports nothing (the compressor image runs it as it is)", () => {
    expect(readFileSync(join(ROOT, "pipeline/stage-contract.ts"), "utf8")).not.toMatch(/^\s*import\s/m);
    expect(importsOf("images/compressor/src/main.ts")).toContain("pipeline/stage-contract");
  });

  it("no source file over 400 lines outside tests", () => {
    const sources = [...tsSources, ...SOURCE_DIRS.flatMap((d) => files(d, [".py", ".sh", ".js"]))];
    const long = sources
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > 400)
      .map(({ f, lines }) => `${f}: ${lines} lines`);
    expect(long).toEqual([]);
  });

  it("no TypeScript function over 80 lines", () => {
    const long: string[] = [];
    for (const file of tsSources) {
      const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
          const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
          const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
          if (end - start + 1 > 80) long.push(`${file}:${start + 1} ${(node as ts.FunctionLikeDeclaration).name?.getText(source) ?? "(anonymous)"}: ${end - start + 1} lines`);
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    expect(long).toEqual([]);
  });

  it("no Python function over 80 lines", () => {
    const python = process.env["SPACEPORT_PYTHON"] ?? "python3";
    const pyFiles = SOURCE_DIRS.flatMap((d) => files(d, [".py"]));
    const script = [
      "import ast, sys",
      "for path in sys.argv[1:]:",
      "    for node in ast.walk(ast.parse(open(path).read())):",
      "        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 80:",
      "            print(f'{path}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines')",
    ].join("\n");
    const out = execFileSync(python, ["-c", script, ...pyFiles], { cwd: ROOT, encoding: "utf8" });
    expect(out.split("\n").filter(Boolean)).toEqual([]);
  });
});
