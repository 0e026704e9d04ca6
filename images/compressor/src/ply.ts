// Binary little-endian PLY reading and writing for 3D Gaussian splatting scenes, with
// validation that turns a malformed file into a sentence the user can act on.
import { CompressorError } from "./errors.js";

const TYPES: Record<string, { size: number; read: (v: DataView, o: number) => number }> = {
  char: { size: 1, read: (v, o) => v.getInt8(o) },
  int8: { size: 1, read: (v, o) => v.getInt8(o) },
  uchar: { size: 1, read: (v, o) => v.getUint8(o) },
  uint8: { size: 1, read: (v, o) => v.getUint8(o) },
  short: { size: 2, read: (v, o) => v.getInt16(o, true) },
  int16: { size: 2, read: (v, o) => v.getInt16(o, true) },
  ushort: { size: 2, read: (v, o) => v.getUint16(o, true) },
  uint16: { size: 2, read: (v, o) => v.getUint16(o, true) },
  int: { size: 4, read: (v, o) => v.getInt32(o, true) },
  int32: { size: 4, read: (v, o) => v.getInt32(o, true) },
  uint: { size: 4, read: (v, o) => v.getUint32(o, true) },
  uint32: { size: 4, read: (v, o) => v.getUint32(o, true) },
  float: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  float32: { size: 4, read: (v, o) => v.getFloat32(o, true) },
  double: { size: 8, read: (v, o) => v.getFloat64(o, true) },
  float64: { size: 8, read: (v, o) => v.getFloat64(o, true) },
};

/** The columns every 3DGS PLY has (besides f_rest_*). */
export const REQUIRED_PROPERTIES = [
  "x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity",
  "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3",
] as const;

/** Number of f_rest coefficients per SH degree (3 colour channels). */
export const REST_COUNT = [0, 9, 24, 45] as const;

export type Splats = {
  /** Gaussian count. */
  count: number;
  /** Column name to values (float32), in file order; normals are dropped. */
  columns: Map<string, Float32Array>;
  /** SH degree (0-3), from the number of f_rest_* columns. */
  shDegree: number;
};

type Element = { name: string; count: number; props: { name: string; type: string }[]; list: boolean };

function parseHeader(buf: Uint8Array, label: string): { elements: Element[]; dataOffset: number; format: string } {
  const magic = Buffer.from(buf.subarray(0, 4)).toString("latin1");
  if (magic !== "ply\n" && magic !== "ply\r") {
    throw new CompressorError(`${label} is not a PLY file (it does not start with "ply"); the training stage should write a binary 3D Gaussian splatting PLY.`);
  }
  const limit = Math.min(buf.length, 1 << 20);
  const head = Buffer.from(buf.subarray(0, limit)).toString("latin1");
  const end = head.indexOf("end_header");
  if (end < 0) throw new CompressorError(`${label} has no complete PLY header ("end_header" missing): the file is truncated or not a PLY.`);
  let dataOffset = end + "end_header".length;
  if (head[dataOffset] === "\r") dataOffset++;
  if (head[dataOffset] !== "\n") throw new CompressorError(`${label} has a malformed PLY header (no newline after end_header).`);
  dataOffset++;
  const elements: Element[] = [];
  let format = "";
  for (const raw of head.slice(0, end).split(/\r?\n/)) {
    const parts = raw.trim().split(/\s+/);
    if (parts[0] === "format") format = parts[1] ?? "";
    else if (parts[0] === "element") {
      const count = Number(parts[2]);
      if (!Number.isInteger(count) || count < 0) throw new CompressorError(`${label} has an invalid element count in its header: "${raw.trim()}".`);
      elements.push({ name: parts[1] ?? "", count, props: [], list: false });
    } else if (parts[0] === "property") {
      const el = elements.at(-1);
      if (!el) throw new CompressorError(`${label} has a property before any element in its header.`);
      if (parts[1] === "list") { el.list = true; el.props.push({ name: parts[4] ?? "", type: "list" }); }
      else {
        const type = parts[1] ?? "";
        if (!TYPES[type]) throw new CompressorError(`${label} has a property of unknown type "${type}".`);
        el.props.push({ name: parts[2] ?? "", type });
      }
    }
  }
  return { elements, dataOffset, format };
}

/** Reads and validates a binary little-endian 3DGS PLY. Throws CompressorError with a plain reason. */
export function parsePly(buf: Uint8Array, label = "point_cloud.ply"): Splats {
  if (buf.length === 0) throw new CompressorError(`${label} is empty (0 bytes): the training stage did not write a model.`);
  const { elements, dataOffset, format } = parseHeader(buf, label);
  if (format !== "binary_little_endian") {
    throw new CompressorError(`${label} is in PLY format "${format || "unknown"}"; only binary_little_endian 3D Gaussian splatting PLYs are supported.`);
  }
  const vi = elements.findIndex((e) => e.name === "vertex");
  const vertex = elements[vi];
  if (!vertex) throw new CompressorError(`${label} has no "vertex" element, so it holds no Gaussians.`);
  let offset = dataOffset;
  for (const el of elements.slice(0, vi)) {
    if (el.list) throw new CompressorError(`${label} has a list element "${el.name}" before the Gaussians; this layout is not supported.`);
    offset += el.count * el.props.reduce((s, p) => s + (TYPES[p.type]?.size ?? 0), 0);
  }
  if (vertex.list) throw new CompressorError(`${label}: the vertex element has list properties; this is not a 3D Gaussian splatting PLY.`);
  const names = vertex.props.map((p) => p.name);
  const missing = REQUIRED_PROPERTIES.filter((p) => !names.includes(p));
  if (missing.length > 0) {
    throw new CompressorError(`${label} is not a 3D Gaussian splatting PLY: missing properties ${missing.join(", ")} (it has ${names.slice(0, 12).join(", ")}${names.length > 12 ? ", ..." : ""}).`);
  }
  const restNames = names.filter((n) => n.startsWith("f_rest_"));
  const shDegree = REST_COUNT.indexOf(restNames.length as (typeof REST_COUNT)[number]);
  if (shDegree < 0 || restNames.some((n, i) => n !== `f_rest_${i}`)) {
    throw new CompressorError(`${label} has ${restNames.length} f_rest_* properties; a 3DGS PLY has 0, 9, 24 or 45 (SH degree 0-3), named f_rest_0.. in order.`);
  }
  const count = vertex.count;
  if (count === 0) throw new CompressorError(`${label} contains zero Gaussians; training produced an empty model.`);
  const stride = vertex.props.reduce((s, p) => s + (TYPES[p.type]?.size ?? 0), 0);
  const need = offset + count * stride;
  if (buf.length < need) {
    throw new CompressorError(`${label} is truncated: its header declares ${count} Gaussians (${need} bytes in all) but the file has ${buf.length} bytes. Re-run or re-upload the training output.`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const columns = new Map<string, Float32Array>();
  let propOffset = 0;
  const allFloat = vertex.props.every((p) => p.type === "float" || p.type === "float32");
  const aligned = allFloat && (buf.byteOffset + offset) % 4 === 0;
  const f32 = aligned ? new Float32Array(buf.buffer, buf.byteOffset + offset, (count * stride) / 4) : null;
  for (const p of vertex.props) {
    const t = TYPES[p.type]!;
    if (p.name === "nx" || p.name === "ny" || p.name === "nz") { propOffset += t.size; continue; }
    const col = new Float32Array(count);
    if (f32) {
      const s = stride / 4, o = propOffset / 4;
      for (let i = 0; i < count; i++) col[i] = f32[i * s + o]!;
    } else {
      for (let i = 0; i < count; i++) col[i] = t.read(view, offset + i * stride + propOffset);
    }
    columns.set(p.name, col);
    propOffset += t.size;
  }
  return { count, columns, shDegree };
}

/** Writes columns as a binary little-endian float PLY (3DGS property order). */
export function encodePly(columns: Map<string, Float32Array>): Buffer {
  const names = [...columns.keys()];
  const count = columns.get(names[0] ?? "")?.length ?? 0;
  const header = ["ply", "format binary_little_endian 1.0", `element vertex ${count}`,
    ...names.map((n) => `property float ${n}`), "end_header", ""].join("\n");
  const head = Buffer.from(header, "latin1");
  const body = new Float32Array(count * names.length);
  const cols = names.map((n) => columns.get(n)!);
  const nc = cols.length;
  for (let c = 0; c < nc; c++) {
    const col = cols[c]!;
    for (let i = 0; i < count; i++) body[i * nc + c] = col[i]!;
  }
  return Buffer.concat([head, Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
}

/** Canonical 3DGS column order for a given SH degree (without normals). */
export function splatColumnNames(shDegree: number): string[] {
  const rest = Array.from({ length: REST_COUNT[shDegree] ?? 0 }, (_, i) => `f_rest_${i}`);
  return ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", ...rest, "opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"];
}
