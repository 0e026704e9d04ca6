// Compression benchmark: generated SH-degree-3 scenes of 100k / 300k / 1M Gaussians through the
// stage's SOG path (PyTorch SH palette k-means + splat-transform texture writer), and, as the
// baseline in the same run, splat-transform 3.7's own CPU k-means (its no-GPU kd-tree path) on
// a small scene, timed per iteration against ours on the same scene.
//   npm run bench:compress -- [--sizes 100000,300000,1000000] [--iterations 10] [--baseline 20000] [--tag name]
// Each scale row reports the k-means FLOPs (90 * palette * assigned rows) and the GFLOP/s it
// reached, which is what extrapolates to another machine.
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
const sizes = arg("sizes", "100000,300000,1000000").split(",").map(Number).filter((n) => n > 0);
const iterations = Number(arg("iterations", "10"));
const tag = arg("tag", "");
const baselineN = Number(arg("baseline", "20000"));
const out = join(process.cwd(), ".bench");
mkdirSync(out, { recursive: true });
const work = join(out, "compress-work");
const results: Record<string, unknown>[] = [];

const secs = (t: number): number => Math.round((performance.now() - t) / 10) / 100;

console.log(`machine: ${cpus().length} vCPU (${cpus()[0]?.model ?? "?"}); SH iterations ${iterations}`);

// ---- baseline: splat-transform's own CPU k-means vs ours on the same scene and palette size.
// Theirs: writeSog with SH (1 k-means iteration, its no-GPU kd-tree path) minus writeSog
// without SH. Ours: the helper's own k-means time for 1 iteration (a full exact assignment).
if (baselineN > 0) {
  const s = syntheticScene(baselineN, 3, 11);
  const table = await toPlySpace(s);
  const copy = (keepSh: boolean): DataTable => new DataTable(table.columns.filter((c: Column) => keepSh || !c.name.startsWith("f_rest_")).map((c: Column) => c.clone()), table.transform);
  let t = performance.now();
  await writeSog({ filename: "/b/meta.json", dataTable: copy(false), bundle: false, iterations: 1, logging: "silent" }, new MemoryFileSystem());
  const noSh = secs(t);
  t = performance.now();
  await writeSog({ filename: "/b/meta.json", dataTable: copy(true), bundle: false, iterations: 1, logging: "silent" }, new MemoryFileSystem());
  const withSh = secs(t);
  const k = Math.min(64, 2 ** Math.floor(Math.log2(baselineN / 1024))) * 1024; // splat-transform's palette size
  const ours = await encodeSog(table, { iterations: 1, sample: 262144, paletteMax: k, palette: k, workDir: join(work, "b") });
  const theirs = Math.max(0.01, withSh - noSh);
  const oursK = ours.sh?.kmeansSeconds ?? NaN;
  console.log(`baseline: ${baselineN} SH3 Gaussians, palette ${ours.sh?.paletteSize}, one k-means iteration: splat-transform CPU ${theirs.toFixed(2)} s (writeSog ${withSh} s with SH, ${noSh} s without); ours ${oursK} s -> ${(theirs / oursK).toFixed(1)}x`);
  results.push({ kind: "baseline", n: baselineN, palette: ours.sh?.paletteSize, splatTransformIterationS: theirs, oursIterationS: oursK, speedup: theirs / oursK });
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
    onProgress: (f, w) => console.log(`  ${n}: ${w} (${secs(t)} s)`) });
  const total = secs(t);
  t = performance.now();
  const back = await readSogEnu(sog.bytes);
  const read = secs(t);
  const plyBytes = n * (3 + 3 + 45 + 1 + 3 + 4) * 4 + 600;
  const k = sog.sh?.paletteSize ?? 0;
  const flop = 90 * k * (Math.max(0, iterations - 1) * Math.min(n, 262144) + n);
  const row = { n, palette: sog.sh?.paletteSize, threads: sog.sh?.threads, bakeS: bake, sogTotalS: total, kmeansS: sog.sh?.kmeansSeconds,
    otherS: Math.round((total - (sog.sh?.kmeansSeconds ?? 0)) * 100) / 100, readBackS: read, sogBytes: sog.bytes.byteLength,
    ratio: Math.round((plyBytes / sog.bytes.byteLength) * 100) / 100, readBackCount: back.count, generateS: gen,
    kmeansTflop: Math.round(flop / 1e10) / 100, kmeansGflops: Math.round(flop / 1e9 / (sog.sh?.kmeansSeconds ?? 1)) };
  console.log(JSON.stringify(row));
  results.push({ kind: "scale", ...row });
  writeFileSync(join(out, `compress-bench${tag}.json`), JSON.stringify({ iterations, cpus: cpus().length, results }, null, 2));
}
writeFileSync(join(out, `compress-bench${tag}.json`), JSON.stringify({ iterations, cpus: cpus().length, results }, null, 2));
console.log(`results in ${join(out, `compress-bench${tag}.json`)}`);
