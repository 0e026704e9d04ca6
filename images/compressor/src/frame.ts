// What a rendered frame shows where it matters: the share of the frame's central box that is
// not the viewer's background colour (the model), from the PNG a headless capture returns.
import { inflateSync } from "node:zlib";

export type Rgb8 = { width: number; height: number; channels: 3 | 4; data: Uint8Array };

/** Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium's screenshots are). */
export function decodePng(png: Buffer): Rgb8 {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error("not a PNG");
  let width = 0, height = 0, channels: 3 | 4 = 4;
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at), type = png.toString("latin1", at + 4, at + 8), body = png.subarray(at + 8, at + 8 + len);
    if (type === "IHDR") {
      width = body.readUInt32BE(0); height = body.readUInt32BE(4);
      const [depth, colour, , , interlace] = [body[8], body[9], body[10], body[11], body[12]];
      if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unsupported PNG (depth ${depth}, colour type ${colour}, interlace ${interlace})`);
      channels = colour === 2 ? 3 : 4;
    } else if (type === "IDAT") idat.push(body);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels, out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!, src = y * (stride + 1) + 1, row = y * stride, prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[row + x - channels]! : 0, b = y > 0 ? out[prev + x]! : 0, c = x >= channels && y > 0 ? out[prev + x - channels]! : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const predictor = filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
      out[row + x] = (raw[src + x]! + predictor) & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

/**
 * Share (0-1) of the pixels in the frame's central box (`box` of the width and height) whose
 * colour differs from `background` (0-1 per channel) by more than `tolerance` 8-bit steps in
 * some channel.
 */
export function centreCoverage(png: Buffer, background: readonly [number, number, number], box = 0.2, tolerance = 12): number {
  const img = decodePng(png);
  const bg = background.map((v) => Math.round(v * 255));
  const x0 = Math.floor(img.width * (0.5 - box / 2)), x1 = Math.ceil(img.width * (0.5 + box / 2));
  const y0 = Math.floor(img.height * (0.5 - box / 2)), y1 = Math.ceil(img.height * (0.5 + box / 2));
  let model = 0, all = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const i = (y * img.width + x) * img.channels;
    all++;
    if ([0, 1, 2].some((k) => Math.abs(img.data[i + k]! - bg[k]!) > tolerance)) model++;
  }
  return all ? model / all : 0;
}
