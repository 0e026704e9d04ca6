// Compression benchmark: generated SH-degree-3 scenes of 100k / 300k / 1M Gaussians through the
// stage's SOG path (PyTorch SH palette k-means + splat-transform texture writer), and, as the
// baseline in the same run, splat-transform 3.7's own CPU k-means (its no-GPU kd-tree path) on
// a small scene, timed per iteration against ours on the same scene.
//   npm run bench:compress -- [--sizes 100000,300000,1000000] [--iterations 10] [--baseline 20000]
import { Column, DataTable, MemoryFileSystem, writeSog } from "@playcanvas/splat-transform";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { encodeSog, readSogEnu, toPlySpace } from "./src/sog.js";
import { syntheticScene } from "./src/synthetic.js";

const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? d) : d;
};
const sizes = arg("sizes", "100000,300000,1000000").split(",").map(Number);
const iterations = Number(arg("iterations", "10"));
const baselineN = Number(arg("baseline", "20000"));
const out = join(process.cwd(), ".bench");
mkdirSync(out, { recursive: true });
const work = join(out, "compress-work");
const results: Record<string, unknown>[] = [];

const secs = (t: number): number => Math.round((performance.now() - t) / 10) / 100;

console.log(`machine: ${cpus().length} vCPU (${cpus()[0]?.model ?? "?"}); SH iterations ${iterations}`);

// ---- baseline: splat-transform's own CPU k-means vs ours, same scene, one iteration each
if (baselineN > 0) {
  const s = syntheticScene(baselineN, 3, 11);
  const table = await toPlySpace(s);
  let t = performance.now();
  await writeSog({ filename: "/b/meta.json", dataTable: new DataTable(table.columns.map((c: Column) => c.clone()), table.transform), bundle: false, iterations: 1, logging: "silent" }, new MemoryFileSystem());
  const theirs = secs(t);
  t = performance.now();
  // splat-transform's palette for this size, so both cluster the same problem
  const k = Math.min(64, 2 ** Math.floor(Math.log2(baselineN / 1024))) * 1024;
  const ours = await encodeSog(table, { iterations: 1, sample: 262144, paletteMax: k, workDir: join(work, "b") });
  const oursS = secs(t);
  console.log(`baseline ${baselineN} Gaussians, palette ${ours.sh?.paletteSize}: splat-transform CPU writeSog (1 k-means iteration) ${theirs} s; ours ${oursS} s (k-means ${ours.sh?.kmeansSeconds} s incl. final full assignment) -> ${(theirs / oursS).toFixed(1)}x faster end to end`);
  results.push({ kind: "baseline", n: baselineN, palette: ours.sh?.paletteSize, splatTransformCpuS: theirs, oursS: oursS, oursKmeansS: ours.sh?.kmeansSeconds });
}

for (const n of sizes) {
  let t = performance.now();
  const s = syntheticScene(n, 3, 1);
  const gen = secs(t);
  t = performance.now();
  const table = await toPlySpace(s);
  const bake = secs(t);
  t = performance.now();
  const sog = await encodeSog(table, { iterations, sample: 262144, paletteMax: 65536, workDir: join(work, String(n)),
    onProgress: (f, w) => process.stdout.write(`\r  ${n}: ${w}      `) });
  const total = secs(t);
  process.stdout.write("\n");
  t = performance.now();
  const back = await readSogEnu(sog.bytes);
  const read = secs(t);
  const plyBytes = n * (3 + 3 + 45 + 1 + 3 + 4) * 4 + 600;
  const row = { n, palette: sog.sh?.paletteSize, threads: sog.sh?.threads, bakeS: bake, sogTotalS: total, kmeansS: sog.sh?.kmeansSeconds,
    otherS: Math.round((total - (sog.sh?.kmeansSeconds ?? 0)) * 100) / 100, readBackS: read, sogBytes: sog.bytes.byteLength,
    ratio: Math.round((plyBytes / sog.bytes.byteLength) * 100) / 100, readBackCount: back.count, generateS: gen };
  console.log(JSON.stringify(row));
  results.push({ kind: "scale", ...row });
  writeFileSync(join(out, "compress-bench.json"), JSON.stringify({ iterations, cpus: cpus().length, results }, null, 2));
}
writeFileSync(join(out, "compress-bench.json"), JSON.stringify({ iterations, cpus: cpus().length, results }, null, 2));
console.log(`results in ${join(out, "compress-bench.json")}`);
