/**
 * The HTTP API's routes, read from the handlers' own route lists (functions/api.ts), so the
 * stack routes exactly what each function's router answers: the function behind each, and a
 * `/me/...` twin for signed-in users (JWT authorizer) of every route but the legacy website
 * form `POST /start-job`, which stays key-only for the website's backend.
 */
import { cancelRoutes, jobStatusRoutes, retryRoutes, startJobRoutes, uploadRoutes } from "../../functions/api.js";
import type { Route } from "../../functions/http.js";
import { USER_PREFIX } from "../../functions/users.js";

export type RoutedFunction = "startJob" | "jobStatus" | "uploads" | "cancel" | "retry";

export interface StackRoute {
  /** `GET /me/jobs/{id}` */
  readonly key: string;
  /** Names the route's resources. */
  readonly id: string;
  readonly fn: RoutedFunction;
  readonly auth?: "jwt";
}

/** Route builders only wrap their dependencies in closures: nothing reads them until a request comes. */
const BUILDERS: Readonly<Record<RoutedFunction, (deps: never, config: never) => Route[]>> = {
  startJob: startJobRoutes,
  jobStatus: jobStatusRoutes,
  uploads: uploadRoutes,
  cancel: cancelRoutes,
  retry: retryRoutes,
};

/** Machine clients only: the original website's backend posts its form here with its own key. */
const KEY_ONLY = new Set(["POST /start-job"]);
/** Resource names the first routes had: kept, so an update does not replace them. */
const FORMER_IDS: Readonly<Record<string, string>> = { "GET /jobs/{id}": "get-job" };

const slug = (key: string): string => key.toLowerCase().replace(/[{}]/g, "").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

export function stackRoutes(): StackRoute[] {
  const routes: StackRoute[] = [];
  for (const [fn, build] of Object.entries(BUILDERS) as [RoutedFunction, (typeof BUILDERS)[RoutedFunction]][]) {
    for (const route of build(undefined as never, undefined as never)) {
      const key = `${route.method} ${route.path}`;
      routes.push({ key, id: FORMER_IDS[key] ?? slug(key), fn });
      if (KEY_ONLY.has(key)) continue;
      const me = `${route.method} ${USER_PREFIX.slice(0, -1)}${route.path}`;
      routes.push({ key: me, id: slug(me), fn, auth: "jwt" });
    }
  }
  return routes;
}
