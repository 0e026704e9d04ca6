// What the measuring tool needs from the SuperSplat viewer's handle (createViewer's return value)
// and its PlayCanvas camera, typed to the few members used: the camera's pose and projection,
// and the handle's event bus, which carries the viewer's own splat-depth picks.
import { enuToViewerXyz, viewerToEnu, type Enu } from "./measure-math.js";

export type Vec3Like = { x: number; y: number; z: number; clone(): Vec3Like; set(x: number, y: number, z: number): Vec3Like };
type CameraComponent = { fov: number; horizontalFov?: boolean; entity: CameraEntity; worldToScreen(world: Vec3Like, out?: Vec3Like): Vec3Like };
type CameraEntity = { getPosition(): Vec3Like; forward: Vec3Like };
export type ViewerEvents = { fire(name: string, ...args: unknown[]): unknown };
export type ViewerHandle = {
  app: { root: { findComponents(type: string): CameraComponent[] }; on(name: string, fn: () => void): void; graphicsDevice: { canvas: HTMLCanvasElement } };
  events: ViewerEvents;
  state: { cameraMode?: string };
};
export type ScreenPoint = { x: number; y: number; visible: boolean };

/** The viewer's camera, read in the model's ENU frame and projected to CSS pixels on the canvas. */
export class ViewCamera {
  constructor(private readonly handle: ViewerHandle) {}

  private component(): CameraComponent {
    const camera = this.handle.app.root.findComponents("camera")[0];
    if (!camera) throw new Error("the viewer has no camera");
    return camera;
  }

  position(): Enu {
    const p = this.component().entity.getPosition();
    return viewerToEnu(p.x, p.y, p.z);
  }

  forward(): Enu {
    const f = this.component().entity.forward;
    return viewerToEnu(f.x, f.y, f.z);
  }

  /** Vertical field of view in degrees. */
  fovDeg(): number {
    const c = this.component();
    if (!c.horizontalFov) return c.fov;
    const canvas = this.handle.app.graphicsDevice.canvas;
    const aspect = canvas.clientWidth / Math.max(1, canvas.clientHeight);
    return (2 * Math.atan(Math.tan((c.fov * Math.PI) / 360) / aspect) * 180) / Math.PI;
  }

  /** Where an ENU point appears on the canvas (CSS pixels); `visible` is false behind the camera. */
  project(p: Enu): ScreenPoint {
    const c = this.component();
    const [x, y, z] = enuToViewerXyz(p);
    const world = c.entity.getPosition().clone().set(x, y, z);
    const s = c.worldToScreen(world, world.clone());
    const eye = this.position(), f = this.forward();
    const ahead = (p[0] - eye[0]) * f[0] + (p[1] - eye[1]) * f[1] + (p[2] - eye[2]) * f[2];
    return { x: s.x, y: s.y, visible: ahead > 1e-6 };
  }

  /** Where the view's centre line meets the ground (ENU z = 0, where SfM puts the ground), and how far along it; null when it looks above the horizon. */
  groundAtCentre(): { point: Enu; depth: number } | null {
    const eye = this.position(), f = this.forward();
    if (!(f[2] < -1e-3)) return null;
    const depth = -eye[2] / f[2];
    if (!(depth > 0)) return null;
    return { point: [eye[0] + depth * f[0], eye[1] + depth * f[1], 0], depth };
  }
}

/** A picked point as the viewer reports it (a PlayCanvas Vec3 in its world), in ENU. */
export function pickedEnu(value: unknown): Enu | null {
  const v = value as { x?: unknown; y?: unknown; z?: unknown } | null;
  if (!v || typeof v.x !== "number" || typeof v.y !== "number" || typeof v.z !== "number") return null;
  if (![v.x, v.y, v.z].every(Number.isFinite)) return null;
  return viewerToEnu(v.x, v.y, v.z);
}

/**
 * Routes the viewer's own picks to `onPick` while `active()` holds. A click or tap in orbit mode
 * makes the viewer pick the splat surface (its stochastic depth pass) and fire `orbitTarget:set`
 * and `pick` with the point; while measuring, those two events are taken for the measurement
 * instead of re-centring the orbit, so the view stays put between the points of a measurement.
 */
export function interceptPicks(events: ViewerEvents, active: () => boolean, onPick: (p: Enu) => void): void {
  const fire = events.fire;
  events.fire = function (this: ViewerEvents, name: string, ...args: unknown[]): unknown {
    if (active() && (name === "pick" || name === "orbitTarget:set")) {
      if (name === "pick") {
        const p = pickedEnu(args[0]);
        if (p) onPick(p);
      }
      return this;
    }
    return fire.call(this, name, ...args);
  };
}
