/** Lambda entry for the uploads API: API Gateway HTTP API (payload 2.0) → the shared router, for the given pipeline. */
import { S3Client } from "@aws-sdk/client-s3";
import type { Pipeline } from "../../pipeline/define.js";
import { createRouterFor, uploadRoutes } from "../api.js";
import { s3Store } from "../adapters/aws/index.js";
import { S3MultipartUploads } from "../adapters/aws/multipart-uploads.js";
import { configFromEnv } from "../config.js";
import { fromApiGatewayV2, toApiGatewayV2, type ApiGatewayV2Event, type ApiGatewayV2Result, type Router } from "../http.js";
import { jsonLogger } from "../log.js";

/** The handler a composition root exports (`export const handler = uploadsHandler(pipeline)`). */
export function uploadsHandler(pipeline: Pipeline): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  let router: Router | undefined;
  return async (event) => {
    if (!router) {
      const config = configFromEnv(process.env, pipeline);
      const deps = { store: s3Store(process.env, config), uploads: new S3MultipartUploads(new S3Client({ region: config.env.region })), log: jsonLogger() };
      router = createRouterFor(uploadRoutes(deps, config), deps, config);
    }
    return toApiGatewayV2(await router(fromApiGatewayV2(event)));
  };
}
