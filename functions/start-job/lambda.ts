/** Lambda entry for start-job: API Gateway HTTP API (payload 2.0) → the shared router, for the given pipeline. */
import type { Pipeline } from "../../pipeline/define.js";
import { createRouterFor, startJobRoutes } from "../api.js";
import { s3Store, stepFunctions } from "../adapters/aws/index.js";
import { configFromEnv } from "../config.js";
import { fromApiGatewayV2, toApiGatewayV2, type ApiGatewayV2Event, type ApiGatewayV2Result, type Router } from "../http.js";
import { jsonLogger } from "../log.js";

/** The handler a composition root exports (`export const handler = startJobHandler(pipeline)`). */
export function startJobHandler(pipeline: Pipeline): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  let router: Router | undefined;
  return async (event) => {
    if (!router) {
      const config = configFromEnv(process.env, pipeline);
      const deps = { store: s3Store(process.env, config), executions: stepFunctions(process.env, config), log: jsonLogger() };
      router = createRouterFor(startJobRoutes(deps, config), deps, config);
    }
    return toApiGatewayV2(await router(fromApiGatewayV2(event)));
  };
}
