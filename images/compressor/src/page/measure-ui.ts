// The measuring tool on the delivery's page, on top of the SuperSplat viewer (it adds elements
// beside the viewer's canvas and never draws into it): distance with height difference between
// two picked points, the ground area of a picked polygon, metres or feet, a scale bar, a north
// arrow and the site's latitude/longitude. Points come from the viewer's own pick of the splat
// surface (a click or a tap), so they sit on what is rendered, not on a bounding box.
import type { MeasureConfig } from "./measure-config.js";
import {
  distance, formatArea, formatLatLon, formatLength, groundArea, groundPerimeter, heightDifference, horizontalDistance,
  metresPerPixel, scaleBar, screenAngleDeg, type Enu, type Unit,
} from "./measure-math.js";
import { interceptPicks, ViewCamera, type ScreenPoint, type ViewerHandle } from "./measure-view.js";

export type Mode = "off" | "distance" | "area";
export type Readout = { mode: Mode; points: Enu[]; distanceM: number | null; heightM: number | null; horizontalM: number | null; areaM2: number | null; perimeterM: number | null };

const SCALE_MAX_PX = 120;
const PANEL = "position:fixed;z-index:20;font:13px/1.35 system-ui,sans-serif;color:#fff;background:rgba(20,22,26,.78);border-radius:8px;padding:6px 8px";
const BUTTON = "font:inherit;color:inherit;background:#2d3138;border:1px solid #555;border-radius:6px;padding:6px 10px;margin:2px;cursor:pointer;touch-action:manipulation";

function element<K extends keyof HTMLElementTagNameMap>(tag: K, style: string, parent: HTMLElement, text = ""): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.style.cssText = style;
  e.textContent = text;
  parent.appendChild(e);
  return e;
}

/** Pure: what the readout says for a mode and its points. */
export function readout(mode: Mode, points: Enu[]): Readout {
  const two = mode === "distance" && points.length === 2 ? ([points[0]!, points[1]!] as const) : null;
  return {
    mode, points,
    distanceM: two ? distance(...two) : null,
    heightM: two ? heightDifference(...two) : null,
    horizontalM: two ? horizontalDistance(...two) : null,
    areaM2: mode === "area" && points.length >= 3 ? groundArea(points) : null,
    perimeterM: mode === "area" && points.length >= 2 ? groundPerimeter(points) : null,
  };
}

function readoutLines(r: Readout, unit: Unit | null): string[] {
  const len = (v: number): string => formatLength(v, unit);
  if (r.mode === "distance") {
    if (r.distanceM === null) return [r.points.length ? "Pick the second point" : "Pick the first point"];
    const rise = r.heightM!;
    return [`Distance ${len(r.distanceM)}`, `Height difference ${rise >= 0 ? "+" : "−"}${len(Math.abs(rise))}`, `Horizontal ${len(r.horizontalM!)}`];
  }
  if (r.mode === "area") {
    const lines = [r.areaM2 === null ? `Pick the polygon's corners on the ground (${r.points.length} so far)` : `Ground area ${formatArea(r.areaM2, unit)} (${r.points.length} points)`];
    if (r.perimeterM !== null && r.points.length >= 3) lines.push(`Perimeter ${len(r.perimeterM)}`);
    return lines;
  }
  return ["Choose a tool, then click or tap the model"];
}


/** On a phone the panel sits under the page's title badge, however many lines the badge takes. */
function belowTitleOnPhones(panel: HTMLElement): void {
  const place = (): void => {
    const badge = document.getElementById("spaceport-title");
    const narrow = window.matchMedia("(max-width:640px)").matches;
    panel.style.top = narrow && badge ? `${Math.ceil(badge.getBoundingClientRect().bottom) + 8}px` : "";
  };
  place();
  window.addEventListener("resize", place);
}

class MeasureTool {
  mode: Mode = "off";
  unit: Unit = "m";
  points: Enu[] = [];
  northAngleDeg: number | null = null;
  scale: { px: number; label: string } | null = null;
  private readonly camera: ViewCamera;
  private readonly svg: SVGSVGElement;
  private readonly panel: HTMLDivElement;
  private readonly text: HTMLDivElement;
  private readonly bar: HTMLDivElement;
  private readonly compass: HTMLDivElement;

  constructor(private readonly handle: ViewerHandle, private readonly config: MeasureConfig) {
    this.camera = new ViewCamera(handle);
    this.svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.svg.setAttribute("style", "position:fixed;inset:0;width:100%;height:100%;z-index:15;pointer-events:none");
    document.body.appendChild(this.svg);
    // on a phone the panel goes below the page's title instead of beside it; on a wider screen
    // the title wraps short of the panel (at most 360 px wide, 12 px from the right edge)
    element("style", "", document.head, "#spaceport-measure-panel{top:12px}#spaceport-title{max-width:calc(100vw - 400px)}" +
      "@media (max-width:640px){#spaceport-measure-panel{top:96px;left:12px}#spaceport-title{max-width:calc(100vw - 32px)}}");
    this.panel = element("div", `${PANEL};right:12px;max-width:min(360px,70vw)`, document.body);
    this.panel.id = "spaceport-measure-panel";
    this.buildButtons();
    belowTitleOnPhones(this.panel);
    this.text = element("div", "margin-top:4px", this.panel);
    this.text.id = "spaceport-measure-readout";
    this.bar = element("div", `${PANEL};left:12px;bottom:96px;display:none`, document.body);
    this.bar.id = "spaceport-scale-bar";
    this.compass = element("div", `${PANEL};left:12px;bottom:152px;width:44px;height:44px;padding:0;border-radius:50%;display:none`, document.body);
    this.compass.id = "spaceport-north";
    this.compass.innerHTML = `<svg viewBox="-22 -22 44 44" width="44" height="44"><g id="spaceport-north-needle"><path d="M0,-17 L6,4 L0,0 L-6,4 Z" fill="#e8473c"/><path d="M0,17 L6,4 L0,0 L-6,4 Z" fill="#ddd" transform="rotate(180)"/><text x="0" y="-5" font-size="8" text-anchor="middle" fill="#fff" transform="translate(0,-7)">N</text></g></svg>`;
    if (config.site) element("div", `${PANEL};left:12px;bottom:62px;padding:3px 8px`, document.body, `Site ${formatLatLon(config.site.lat, config.site.lon)}`).id = "spaceport-site";
    interceptPicks(handle.events, () => this.mode !== "off", (p) => this.add(p));
    handle.app.on("frameend", () => this.draw());
    this.render();
  }

  private buildButtons(): void {
    const row = element("div", "display:flex;flex-wrap:wrap;align-items:center", this.panel);
    const tool = (label: string, mode: Mode): void => {
      const b = element("button", BUTTON, row, label);
      b.dataset["mode"] = mode;
      b.addEventListener("click", () => this.setMode(this.mode === mode ? "off" : mode));
    };
    tool("Distance", "distance");
    tool("Area", "area");
    const clear = element("button", BUTTON, row, "Clear");
    clear.addEventListener("click", () => { this.points = []; this.render(); });
    if (this.config.metric) {
      const units = element("button", BUTTON, row, "m / ft");
      units.id = "spaceport-units";
      units.addEventListener("click", () => { this.unit = this.unit === "m" ? "ft" : "m"; this.render(); });
    } else {
      element("div", "flex-basis:100%;margin-top:4px;color:#ffcf5c", row, this.config.relativeReason ?? "Relative distances: this model is not to scale.").id = "spaceport-relative";
    }
  }

  setMode(mode: Mode): void {
    this.mode = mode;
    this.points = [];
    // the viewer picks on a click only in orbit mode
    if (mode !== "off" && this.handle.state.cameraMode !== "orbit") this.handle.state.cameraMode = "orbit";
    this.render();
  }

  add(p: Enu): void {
    if (this.mode === "distance" && this.points.length >= 2) this.points = [];
    this.points.push(p);
    this.render();
  }

  result(): Readout {
    return readout(this.mode, this.points);
  }

  render(): void {
    for (const b of this.panel.querySelectorAll<HTMLButtonElement>("button[data-mode]")) b.style.background = b.dataset["mode"] === this.mode ? "#1f6feb" : "#2d3138";
    this.text.replaceChildren(...readoutLines(this.result(), this.config.metric ? this.unit : null).map((line) => { const d = document.createElement("div"); d.textContent = line; return d; }));
    this.draw();
  }

  /** Per frame: the picked points and lines where they now appear, the scale bar, the north arrow. */
  draw(): void {
    const screen = this.points.map((p) => this.camera.project(p));
    this.svg.innerHTML = overlaySvg(screen, this.mode === "area");
    const ground = this.camera.groundAtCentre();
    const canvas = this.handle.app.graphicsDevice.canvas;
    this.scale = this.config.metric && ground ? scaleBar(metresPerPixel(ground.depth, this.camera.fovDeg(), canvas.clientHeight || 1), SCALE_MAX_PX, this.unit) : null;
    this.bar.style.display = this.scale ? "" : "none";
    if (this.scale) this.bar.innerHTML = `<div style="width:${this.scale.px.toFixed(1)}px;height:6px;border:2px solid #fff;border-top:none"></div><div>${this.scale.label} <span style="opacity:.7">at the centre</span></div>`;
    this.northAngleDeg = this.config.northKnown ? this.northOnScreen(ground?.point ?? null) : null;
    this.compass.style.display = this.northAngleDeg === null ? "none" : "";
    this.compass.querySelector("#spaceport-north-needle")?.setAttribute("transform", `rotate(${(this.northAngleDeg ?? 0).toFixed(2)})`);
  }

  /** North's direction on the screen, at the ground under the view's centre (or ahead of the camera). */
  private northOnScreen(ground: Enu | null): number | null {
    const eye = this.camera.position(), f = this.camera.forward();
    const at: Enu = ground ?? [eye[0] + 10 * f[0], eye[1] + 10 * f[1], eye[2] + 10 * f[2]];
    const a = this.camera.project(at), b = this.camera.project([at[0], at[1] + 1, at[2]]);
    return a.visible && b.visible ? screenAngleDeg(a, b) : null;
  }
}

function overlaySvg(points: ScreenPoint[], closed: boolean): string {
  const shown = points.filter((p) => p.visible);
  if (shown.length === 0) return "";
  const path = shown.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
  const shape = closed && shown.length >= 3
    ? `<polygon points="${path}" fill="rgba(31,111,235,.25)" stroke="#4aa3ff" stroke-width="2"/>`
    : `<polyline points="${path}" fill="none" stroke="#4aa3ff" stroke-width="2"/>`;
  const dots = shown.map((p) => `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="5" fill="#fff" stroke="#1f6feb" stroke-width="2"/>`).join("");
  return shape + dots;
}

export type MeasureApi = {
  setMode(mode: Mode): void;
  setUnit(unit: Unit): void;
  result(): Readout;
  project(p: Enu): ScreenPoint;
  camera(): { position: Enu; forward: Enu; fovDeg: number };
  northAngleDeg(): number | null;
  scale(): { px: number; label: string } | null;
};

/** Adds the tool to the page; `window.spaceportMeasure` is its scripting surface (tests, kiosks), as the viewer's own window hooks are. */
export function attachMeasure(handle: ViewerHandle, config: MeasureConfig): MeasureApi {
  const tool = new MeasureTool(handle, config);
  const view = new ViewCamera(handle);
  const api: MeasureApi = {
    setMode: (mode) => tool.setMode(mode),
    setUnit: (unit) => { tool.unit = unit; tool.render(); },
    result: () => tool.result(),
    project: (p) => view.project(p),
    camera: () => ({ position: view.position(), forward: view.forward(), fovDeg: view.fovDeg() }),
    northAngleDeg: () => tool.northAngleDeg,
    scale: () => tool.scale,
  };
  (window as unknown as { spaceportMeasure?: MeasureApi }).spaceportMeasure = api;
  return api;
}
