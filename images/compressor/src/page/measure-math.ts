// The measuring tool's arithmetic, in the model's east-north-up frame (metres when the model is
// georeferenced): distances, height differences, ground areas, units, the scale bar's length and
// the north arrow's angle. Pure functions with no browser API, so Node tests run them as the page does.

export type Enu = readonly [number, number, number];
export type Unit = "m" | "ft";

/** Metres in one international foot. */
export const FOOT_M = 0.3048;

/** The viewer's world (y up, -z forward) to ENU (z up): (x, y, z) -> (x, -z, y); enuToViewer's inverse. */
export const viewerToEnu = (x: number, y: number, z: number): Enu => [x, -z, y];
export const enuToViewerXyz = (p: Enu): [number, number, number] => [p[0], p[2], -p[1]];

export const distance = (a: Enu, b: Enu): number => Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]);
export const horizontalDistance = (a: Enu, b: Enu): number => Math.hypot(b[0] - a[0], b[1] - a[1]);
/** How far b is above a (negative: below). */
export const heightDifference = (a: Enu, b: Enu): number => b[2] - a[2];

/** Area of the polygon's footprint on the ground (its vertices projected onto the horizontal plane), shoelace formula. */
export function groundArea(points: readonly Enu[]): number {
  if (points.length < 3) return 0;
  let twice = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!, q = points[(i + 1) % points.length]!;
    twice += p[0] * q[1] - q[0] * p[1];
  }
  return Math.abs(twice) / 2;
}

/** Length of the closed polygon's outline, measured on the ground. */
export function groundPerimeter(points: readonly Enu[]): number {
  if (points.length < 2) return 0;
  let sum = 0;
  for (let i = 0; i < points.length; i++) sum += horizontalDistance(points[i]!, points[(i + 1) % points.length]!);
  return points.length === 2 ? sum / 2 : sum;
}

const decimals = (v: number): number => (Math.abs(v) >= 100 ? 1 : 2);

/** A length for the readout: metres or feet; `null` unit means relative model units (no GPS frame), shown without a unit. */
export function formatLength(metres: number, unit: Unit | null): string {
  if (unit === null) return metres.toFixed(decimals(metres));
  const v = unit === "ft" ? metres / FOOT_M : metres;
  return `${v.toFixed(decimals(v))} ${unit}`;
}

export function formatArea(squareMetres: number, unit: Unit | null): string {
  if (unit === null) return squareMetres.toFixed(decimals(squareMetres));
  const v = unit === "ft" ? squareMetres / (FOOT_M * FOOT_M) : squareMetres;
  return `${v.toFixed(decimals(v))} ${unit}²`;
}

/**
 * The scale bar: the longest round length (1, 2 or 5 times a power of ten, in the chosen unit)
 * that fits in `maxPx` CSS pixels at `metresPerPx`; null when the scale is unknown.
 */
export function scaleBar(metresPerPx: number, maxPx: number, unit: Unit): { px: number; label: string } | null {
  if (!(metresPerPx > 0) || !Number.isFinite(metresPerPx) || !(maxPx > 0)) return null;
  const unitM = unit === "ft" ? FOOT_M : 1;
  const maxUnits = (maxPx * metresPerPx) / unitM;
  const power = 10 ** Math.floor(Math.log10(maxUnits));
  const step = [5, 2, 1].map((k) => k * power).find((v) => v <= maxUnits) ?? power;
  const px = (step * unitM) / metresPerPx;
  const text = step >= 1 ? String(Math.round(step)) : String(Number(step.toPrecision(1)));
  return { px, label: `${text} ${unit}` };
}

/** Metres one CSS pixel spans at `depth` metres in front of a perspective camera with vertical field of view `fovDeg` over `heightPx`. */
export const metresPerPixel = (depth: number, fovDeg: number, heightPx: number): number =>
  (2 * depth * Math.tan((fovDeg * Math.PI) / 360)) / heightPx;

/**
 * Screen angle of the north arrow (degrees clockwise from straight up): where north lies on the
 * screen, from the screen positions of a ground point and of the point one metre north of it.
 */
export function screenAngleDeg(from: { x: number; y: number }, to: { x: number; y: number }): number | null {
  const dx = to.x - from.x, dy = to.y - from.y;
  if (Math.hypot(dx, dy) < 1e-9) return null;
  return ((Math.atan2(dx, -dy) * 180) / Math.PI + 360) % 360;
}

/** Latitude and longitude for people: degrees with five decimals (about a metre), hemisphere letters. */
export function formatLatLon(lat: number, lon: number): string {
  const ns = lat >= 0 ? "N" : "S", ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(5)}° ${ns}, ${Math.abs(lon).toFixed(5)}° ${ew}`;
}
