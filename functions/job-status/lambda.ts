/** Lambda entry for job-status: API Gateway HTTP API (payload 2.0) → the shared router, for the given pipeline. */
import type { Pipeline } from "../../pipeline/define.js";
import { createRouterFor, jobStatusRoutes } from "../api.js";
import { cloudWatchProgress, s3Store, stepFunctions } from "../adapters/aws/index.js";
import { configFromEnv } from "../config.js";
import { fromApiGatewayV2, toApiGatewayV2, type ApiGatewayV2Event, type ApiGatewayV2Result, type Router } from "../http.js";
import { jsonLogger } from "../log.js";

/** The handler a composition root exports (`export const handler = jobStatusHandler(pipeline)`). */
export function jobStatusHandler(pipeline: Pipeline): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  let router: Router | undefined;
  return async (event) => {
    if (!router) {
      const config = configFromEnv(process.env, pipeline);
      const deps = {
        store: s3Store(process.env, config),
        executions: stepFunctions(process.env, config),
        progress: cloudWatchProgress(config),
        log: jsonLogger(),
      };
      router = createRouterFor(jobStatusRoutes(deps, config), deps, config);
    }
    return toApiGatewayV2(await router(fromApiGatewayV2(event)));
  };
}
