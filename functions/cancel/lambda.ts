/** Lambda entry for cancel and retry (POST /jobs/{id}/cancel, /retry): API Gateway HTTP API → the shared router, for the given pipeline. */
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { Pipeline } from "../../pipeline/define.js";
import { createRouterFor, jobControlRoutes } from "../api.js";
import { s3Store, sesMailer, stepFunctions } from "../adapters/aws/index.js";
import { AwsJobControl } from "../adapters/aws/job-control.js";
import { ConfigError, configFromEnv } from "../config.js";
import { fromApiGatewayV2, toApiGatewayV2, type ApiGatewayV2Event, type ApiGatewayV2Result, type Router } from "../http.js";
import { jsonLogger } from "../log.js";

/** The handler a composition root exports (`export const handler = jobControlHandler(pipeline)`). */
export function jobControlHandler(pipeline: Pipeline): (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result> {
  let router: Router | undefined;
  return async (event) => {
    if (!router) {
      const config = configFromEnv(process.env, pipeline);
      const arn = process.env["SPACEPORT_STATE_MACHINE_ARN"];
      if (!arn) throw new ConfigError("SPACEPORT_STATE_MACHINE_ARN", "is not set");
      const region = config.env.region;
      const deps = {
        store: s3Store(process.env, config),
        executions: stepFunctions(process.env, config),
        control: new AwsJobControl(new SFNClient({ region }), new SageMakerClient({ region }), arn),
        mailer: sesMailer(process.env, config),
        log: jsonLogger(),
      };
      router = createRouterFor(jobControlRoutes(deps, config), deps, config);
    }
    return toApiGatewayV2(await router(fromApiGatewayV2(event)));
  };
}
