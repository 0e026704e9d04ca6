/**
 * The API's routes: start-job (`POST /jobs`, legacy `POST /start-job`), job-status
 * (`GET /jobs`, `GET /jobs/{id}`, `GET /estimates`), uploads (`/uploads…`), cancel and retry,
 * bound to their ports. The Lambda wrappers take the routes they serve,
 * the local runtime takes them all: `createApi(deps, config)`.
 */
import type { FunctionConfig } from "./config.js";
import { createRouter, type Route, type Router } from "./http.js";
import { listJobs } from "./job-list/handler.js";
import { jobStatus, type JobStatusDeps } from "./job-status/handler.js";
import type { Logger } from "./log.js";
import { startJob, type StartJobDeps } from "./start-job/handler.js";
import { cancelJob, type CancelDeps } from "./cancel/handler.js";
import { estimates } from "./estimates/handler.js";
import { retryJob, type RetryDeps } from "./retry/handler.js";
import { abortUpload, completeUpload, startUpload, uploadPartUrls, uploadStatus, type UploadsDeps } from "./uploads/handler.js";

export type ApiDeps = StartJobDeps & JobStatusDeps & Partial<Pick<UploadsDeps, "uploads">> & Partial<Pick<CancelDeps, "control" | "mailer">> & { readonly log: Logger; readonly clock?: () => number };

export function startJobRoutes(deps: StartJobDeps, config: FunctionConfig): Route[] {
  return [
    { method: "POST", path: "/jobs", json: true, handle: (context) => startJob(context, deps, config, false) },
    { method: "POST", path: "/start-job", json: true, handle: (context) => startJob(context, deps, config, true) },
  ];
}

export function jobStatusRoutes(deps: JobStatusDeps, config: FunctionConfig): Route[] {
  return [
    { method: "GET", path: "/jobs", handle: (context) => listJobs(context, deps, config) },
    { method: "GET", path: "/jobs/{id}", handle: (context) => jobStatus(context, deps, config) },
    { method: "GET", path: "/estimates", handle: async () => estimates(config) },
  ];
}

export function uploadRoutes(deps: UploadsDeps, config: FunctionConfig): Route[] {
  return [
    { method: "POST", path: "/uploads", json: true, handle: (context) => startUpload(context, deps, config) },
    { method: "GET", path: "/uploads/{id}", handle: (context) => uploadStatus(context, deps, config) },
    { method: "DELETE", path: "/uploads/{id}", handle: (context) => abortUpload(context, deps, config) },
    { method: "POST", path: "/uploads/{id}/parts", json: true, handle: (context) => uploadPartUrls(context, deps, config) },
    { method: "POST", path: "/uploads/{id}/complete", handle: (context) => completeUpload(context, deps, config) },
  ];
}

/** Cancel: stops a job's execution or its running SageMaker job through JobControl, and emails once. */
export function cancelRoutes(deps: CancelDeps, config: FunctionConfig): Route[] {
  return [{ method: "POST", path: "/jobs/{id}/cancel", handle: (context) => cancelJob(context, deps, config) }];
}

/** Retry: redrives a failed or cancelled job's execution through JobControl. */
export function retryRoutes(deps: RetryDeps, config: FunctionConfig): Route[] {
  return [{ method: "POST", path: "/jobs/{id}/retry", handle: (context) => retryJob(context, deps, config) }];
}

export function createRouterFor(routes: readonly Route[], deps: { log: Logger; clock?: () => number }, config: FunctionConfig): Router {
  return createRouter(routes, {
    apiKeys: config.apiKeys,
    rateLimit: config.env.apiRateLimit,
    maxBodyBytes: config.maxBodyBytes,
    log: deps.log,
    corsOrigins: config.env.corsOrigins,
    ...(deps.clock ? { now: deps.clock } : {}),
  });
}

/** Every route behind one router (the local runtime's server); uploads and cancel where their adapters are given. */
export function createApi(deps: ApiDeps, config: FunctionConfig): Router {
  const routes = [
    ...startJobRoutes(deps, config),
    ...jobStatusRoutes(deps, config),
    ...(deps.uploads ? uploadRoutes({ ...deps, uploads: deps.uploads }, config) : []),
    ...(deps.control && deps.mailer ? cancelRoutes({ ...deps, control: deps.control, mailer: deps.mailer }, config) : []),
    ...(deps.control ? retryRoutes({ ...deps, control: deps.control }, config) : []),
  ];
  return createRouterFor(
    routes,
    deps,
    config,
  );
}
