/**
 * The handlers as one value, for a runtime that serves them all (the local runtime receives
 * this from its composition root): the API router and the notify function, the same code as the
 * Lambda entries run.
 */
import { createApi, type ApiDeps } from "./api.js";
import type { FunctionConfig } from "./config.js";
import type { Router } from "./http.js";
import { notify, type NotifyDeps, type NotifyResult } from "./notify/handler.js";

export interface Handlers {
  /** `POST /jobs`, `GET /jobs/{id}`, behind the API-key check. */
  api(deps: ApiDeps, config: FunctionConfig): Router;
  /** The state machine's notify task. */
  notify(payload: unknown, deps: NotifyDeps, config: FunctionConfig): Promise<NotifyResult>;
}

export const handlers: Handlers = { api: createApi, notify };
