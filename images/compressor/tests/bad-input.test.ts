// Bad inputs end in a plain failure reason (failure + message files, non-zero exit), no
// delivery, nothing written outside the output folders, inputs untouched.
import { afterAll, describe, expect, test } from "@jest/globals";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { cleanSplats } from "../src/clean.js";
import { encodePly, parsePly } from "../src/ply.js";
import { syntheticScene } from "../src/synthetic.js";
import { listFiles, makeJob, runCompressor, type Job } from "./helpers.js";

const jobs: Job[] = [];
afterAll(() => { for (const j of jobs) rmSync(j.root, { recursive: true, force: true }); });

/** A ustar archive written by hand, so entries can carry any name (e.g. '../../x'). */
function makeTar(entries: { name: string; data?: Buffer; type?: "0" | "2"; linkname?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, "utf8");
    h.write("0000644\0", 100); h.write("0000000\0", 108); h.write("0000000\0", 116);
    h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
    h.write("00000000000\0", 136);
    h.write("        ", 148);
    h.write(e.type ?? "0", 156);
    if (e.linkname) h.write(e.linkname, 157, 100);
    h.write("ustar\0", 257); h.write("00", 263);
    let sum = 0; for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

const small = syntheticScene(500, 3, 3);
const goodPly = encodePly(small.columns);
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function expectFailure(files: Record<string, Buffer>, pattern: RegExp): Promise<{ job: Job; reason: string }> {
  const job = makeJob("bad");
  jobs.push(job);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(job.input, name), data);
  const before = Object.fromEntries(Object.entries(files).map(([n, d]) => [n, sha(d)]));
  const r = await runCompressor(job, { COMPRESS_PREVIEW: "0" });
  expect(r.code).not.toBe(0);
  const reason = readFileSync(join(job.optMl, "output", "failure"), "utf8");
  expect(readFileSync(join(job.optMl, "output", "message"), "utf8")).toBe(reason);
  expect(reason).toMatch(pattern);
  expect(reason.length).toBeLessThanOrEqual(1024);
  // nothing delivered, nothing outside the output folders, temp folder cleaned, input untouched
  expect(listFiles(job.delivery)).toEqual({});
  const all = Object.keys(listFiles(job.root));
  expect(all.sort()).toEqual([...Object.keys(files).map((n) => `opt/ml/processing/input/model/${n}`), "opt/ml/output/failure", "opt/ml/output/message"].sort());
  for (const [name, d] of Object.entries(before)) expect(sha(readFileSync(join(job.input, name)))).toBe(d);
  return { job, reason };
}

describe("bad input ends in a failure reason", () => {
  test("truncated PLY", async () => {
    await expectFailure({ "point_cloud.ply": goodPly.subarray(0, goodPly.length - 5000) }, /truncated: its header declares 500 Gaussians/);
  }, 30_000);

  test("PLY whose Gaussians are NaN", async () => {
    const s = syntheticScene(500, 3, 4);
    const x = s.columns.get("x")!;
    for (let i = 0; i < 400; i++) x[i] = NaN;
    await expectFailure({ "point_cloud.ply": encodePly(s.columns) }, /400 of 500 Gaussians \(80\.0%\) hold NaN or infinite values/);
  }, 30_000);

  test("empty PLY (0 bytes) and PLY with zero Gaussians", async () => {
    await expectFailure({ "point_cloud.ply": Buffer.alloc(0) }, /point_cloud\.ply is empty/);
    const header = "ply\nformat binary_little_endian 1.0\nelement vertex 0\n" +
      ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"].map((p) => `property float ${p}\n`).join("") + "end_header\n";
    await expectFailure({ "point_cloud.ply": Buffer.from(header) }, /contains zero Gaussians/);
  }, 60_000);

  test("a point cloud that is not a Gaussian splatting PLY", async () => {
    const header = "ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n";
    await expectFailure({ "point_cloud.ply": Buffer.concat([Buffer.from(header), Buffer.alloc(30)]) }, /not a 3D Gaussian splatting PLY: missing properties f_dc_0/);
  }, 30_000);

  test("tarball with a path-traversal entry writes nothing outside", async () => {
    const tgz = makeTar([
      { name: "point_cloud.ply", data: goodPly },
      { name: "../../../../escape.txt", data: Buffer.from("owned") },
    ]);
    const { job } = await expectFailure({ "model.tar.gz": tgz }, /model\.tar\.gz contains unsafe entries \('\.\.\/\.\.\/\.\.\/\.\.\/escape\.txt' points outside the archive\)/);
    expect(Object.keys(listFiles(job.root)).some((f) => f.includes("escape"))).toBe(false);
  }, 30_000);

  test("tarball with a symlink entry, and a damaged tarball", async () => {
    await expectFailure({ "model.tar.gz": makeTar([{ name: "point_cloud.ply", type: "2", linkname: "/etc/passwd" }]) }, /'point_cloud\.ply' is a link/);
    await expectFailure({ "model.tar.gz": gzipSync(Buffer.from("this is not a tar archive at all".repeat(40))) }, /could not be read as a tar archive|holds no point_cloud\.ply/);
  }, 60_000);

  test("missing model", async () => {
    await expectFailure({ "notes.txt": Buffer.from("hi") }, /No model\.tar\.gz or point_cloud\.ply found/);
  }, 30_000);
});

describe("clean-up (in process)", () => {
  test("drops a few NaN, transparent and far-away Gaussians and counts them", () => {
    const s = syntheticScene(2000, 1, 5);
    s.columns.get("scale_1")![3] = Infinity;
    s.columns.get("f_rest_2")![4] = NaN;
    s.columns.get("opacity")![5] = -9; // sigmoid = 1.2e-4
    s.columns.get("x")![6] = 5000;
    const parsed = parsePly(encodePly(s.columns));
    expect(parsed.shDegree).toBe(1);
    const { splats, report } = cleanSplats(parsed, { minOpacity: 1 / 255, removeFloaters: true, maxInvalidFraction: 0.5 });
    expect(report.removed).toEqual({ nonFinite: 2, transparent: 1, floaters: expect.any(Number) });
    expect(report.removed.floaters).toBeGreaterThanOrEqual(1);
    expect(report.removed.floaters).toBeLessThan(40);
    expect(splats.count).toBe(2000 - 3 - report.removed.floaters);
    for (const c of splats.columns.values()) expect(c.every(Number.isFinite)).toBe(true);
    expect(Math.max(...splats.columns.get("x")!)).toBeLessThan(100);
  });

  test("PLY with doubles and normals reads the same values", () => {
    const n = 3;
    const names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];
    const header = `ply\nformat binary_little_endian 1.0\nelement vertex ${n}\n` + names.map((p) => `property double ${p}\n`).join("") + "end_header\n";
    const body = new Float64Array(n * names.length).map((_, i) => i * 0.5);
    const s = parsePly(Buffer.concat([Buffer.from(header), Buffer.from(body.buffer)]));
    expect(s.count).toBe(n);
    expect(s.columns.has("nx")).toBe(false);
    expect(s.columns.get("f_dc_0")![1]).toBeCloseTo((names.length + 6) * 0.5);
  });
});
