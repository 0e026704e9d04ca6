// The measuring tool driven as a buyer drives it: a delivery's page in headless Chromium, the
// tool's buttons clicked, points picked by clicking (or tapping) where a known 3D point appears
// on the screen, so the pick goes through the viewer's splat-depth pass. Also the survey's truth
// (its ENU frame around its own origin) moved into the model's ENU frame (around SfM's origin).
import type { Page } from "playwright-core";
import { openPage, serveDir, type OpenPage } from "../src/browser.js";
import type { Enu } from "../src/page/measure-math.js";
import type { MeasureApi, Readout } from "../src/page/measure-ui.js";

export type Geodetic = { lat: number; lon: number; alt: number };

const A = 6378137, E2 = 6.69437999014e-3; // WGS84
const rad = (d: number): number => (d * Math.PI) / 180;

function ecef(g: Geodetic): Enu {
  const s = Math.sin(rad(g.lat)), c = Math.cos(rad(g.lat)), n = A / Math.sqrt(1 - E2 * s * s);
  return [(n + g.alt) * c * Math.cos(rad(g.lon)), (n + g.alt) * c * Math.sin(rad(g.lon)), (n * (1 - E2) + g.alt) * s];
}

/** East, north and up unit vectors (ECEF) at an origin. */
function basis(o: Geodetic): [Enu, Enu, Enu] {
  const sl = Math.sin(rad(o.lat)), cl = Math.cos(rad(o.lat)), so = Math.sin(rad(o.lon)), co = Math.cos(rad(o.lon));
  return [[-so, co, 0], [-sl * co, -sl * so, cl], [cl * co, cl * so, sl]];
}

/** A point given in the ENU frame around `from` (the survey's truth), in the ENU frame around `to` (the model's, SfM's GPS origin). */
export function truthToModel(p: Enu, from: Geodetic, to: Geodetic): Enu {
  const b0 = basis(from), b1 = basis(to), o0 = ecef(from), o1 = ecef(to);
  const x = [0, 1, 2].map((k) => o0[k]! + p[0] * b0[0][k]! + p[1] * b0[1][k]! + p[2] * b0[2][k]! - o1[k]!);
  const dot = (v: Enu): number => v[0] * x[0]! + v[1] * x[1]! + v[2] * x[2]!;
  return [dot(b1[0]), dot(b1[1]), dot(b1[2])];
}

type Window = { spaceportMeasure: MeasureApi; __firstFrame?: number };
export class MeasureSession {
  private constructor(readonly page: Page, private readonly browser: OpenPage, private readonly stop: () => Promise<void>, private readonly touch: boolean) {}

  /** Opens a delivery folder's page (with its controls, as a buyer sees it) and waits for the first frame and the tool. */
  static async open(deliveryDir: string, opts: { width: number; height: number; touch?: boolean }): Promise<MeasureSession> {
    const server = await serveDir(deliveryDir);
    const browser = await openPage(opts);
    const session = new MeasureSession(browser.page, browser, async () => { await browser.close(); await server.close(); }, opts.touch ?? false);
    await browser.page.goto(`${server.url}index.html?noanim`, { waitUntil: "load" });
    await browser.page.waitForFunction(() => { const w = window as unknown as Partial<Window>; return w.__firstFrame !== undefined && w.spaceportMeasure !== undefined; }, undefined, { timeout: 120_000, polling: 200 });
    await session.settle();
    return session;
  }

  get consoleErrors(): string[] { return this.browser.consoleErrors; }

  /** Waits until the camera has stopped moving (the orbit's damping, a focus animation). */
  async settle(): Promise<void> {
    let last = "";
    for (let i = 0; i < 60; i++) {
      await this.page.waitForTimeout(250);
      const now = JSON.stringify((await this.camera()).position.map((v) => v.toFixed(3)));
      if (now === last) return;
      last = now;
    }
    throw new Error("the viewer's camera never came to rest");
  }

  // page.evaluate sends each function's source to the page, where `tool` is not defined: spelled out
  camera(): Promise<{ position: Enu; forward: Enu; fovDeg: number }> { return this.page.evaluate(() => (window as unknown as Window).spaceportMeasure.camera()); }
  result(): Promise<Readout> { return this.page.evaluate(() => (window as unknown as Window).spaceportMeasure.result()); }
  north(): Promise<number | null> { return this.page.evaluate(() => (window as unknown as Window).spaceportMeasure.northAngleDeg()); }
  scale(): Promise<{ px: number; label: string } | null> { return this.page.evaluate(() => (window as unknown as Window).spaceportMeasure.scale()); }
  project(p: Enu): Promise<{ x: number; y: number; visible: boolean }> { return this.page.evaluate((q) => (window as unknown as Window).spaceportMeasure.project(q), p); }
  text(selector: string): Promise<string> { return this.page.locator(selector).innerText(); }
  async button(label: string): Promise<void> { await this.page.getByRole("button", { name: label, exact: true }).click(); }

  /** A click, or a finger held for a few frames (the viewer reads touches once a frame, so an instant tap would go unseen). */
  private async press(x: number, y: number): Promise<void> {
    if (!this.touch) return this.page.mouse.click(x, y);
    const cdp = await this.page.context().newCDPSession(this.page);
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x, y }] });
    await this.page.waitForTimeout(150);
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    await cdp.detach();
  }

  /** Clicks (taps) where `p` appears and returns the point the tool picked there (its depth from the rendered splats). */
  async pickAt(p: Enu): Promise<Enu> {
    const s = await this.project(p);
    if (!s.visible) throw new Error(`point ${p} is behind the camera`);
    const before = (await this.result()).points.length;
    await this.press(s.x, s.y);
    await this.page.waitForFunction((n) => (window as unknown as Window).spaceportMeasure.result().points.length > n, before, { timeout: 30_000, polling: 100 });
    // a double-click guard: the next press must not count as the second half of this one
    await this.page.waitForTimeout(400);
    return (await this.result()).points.at(-1)!;
  }

  /** Orbits the view by dragging the mouse `dx` pixels sideways. */
  async orbit(dx: number): Promise<void> {
    const size = this.page.viewportSize()!;
    await this.page.mouse.move(size.width / 2, size.height / 2);
    await this.page.mouse.down();
    for (let i = 1; i <= 10; i++) await this.page.mouse.move(size.width / 2 + (dx * i) / 10, size.height / 2);
    await this.page.mouse.up();
    await this.settle();
  }

  async screenshot(path: string): Promise<void> { await this.page.screenshot({ path }); }
  close(): Promise<void> { return this.stop(); }
}
