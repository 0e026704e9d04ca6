/**
 * Lambda entries for cancel (`POST /jobs/{id}/cancel`) and retry (`POST /jobs/{id}/retry`): API
 * Gateway HTTP API → the shared router, for the given pipeline. Two functions, so each role
 * holds only its own actions (StopExecution and the SageMaker stops; RedriveExecution).
 */
import { SageMakerClient } from "@aws-sdk/client-sagemaker";
import { SFNClient } from "@aws-sdk/client-sfn";
import type { Pipeline } from "../../pipeline/define.js";
import { cancelRoutes, createRouterFor, retryRoutes } from "../api.js";
import { s3Store, sesMailer, stepFunctions } from "../adapters/aws/index.js";
import { AwsJobControl } from "../adapters/aws/job-control.js";
import { ConfigError, configFromEnv, type FunctionConfig } from "../config.js";
import { fromApiGatewayV2, toApiGatewayV2, type ApiGatewayV2Event, type ApiGatewayV2Result, type Route, type Router } from "../http.js";
import { jsonLogger } from "../log.js";
import type { CancelDeps } from "./handler.js";

type Handler = (event: ApiGatewayV2Event) => Promise<ApiGatewayV2Result>;

/** The handler a composition root exports (`export const handler = cancelHandler(pipeline)`). */
export const cancelHandler = (pipeline: Pipeline): Handler => jobControlHandler(pipeline, cancelRoutes);
/** The handler a composition root exports (`export const handler = retryHandler(pipeline)`). */
export const retryHandler = (pipeline: Pipeline): Handler => jobControlHandler(pipeline, retryRoutes);

function jobControlHandler(pipeline: Pipeline, routes: (deps: CancelDeps, config: FunctionConfig) => Route[]): Handler {
  let router: Router | undefined;
  return async (event) => {
    if (!router) {
      const config = configFromEnv(process.env, pipeline);
      const arn = process.env["SPACEPORT_STATE_MACHINE_ARN"];
      if (!arn) throw new ConfigError("SPACEPORT_STATE_MACHINE_ARN", "is not set");
      const region = config.env.region;
      const deps: CancelDeps = {
        store: s3Store(process.env, config),
        executions: stepFunctions(process.env, config),
        control: new AwsJobControl(new SFNClient({ region }), new SageMakerClient({ region }), arn),
        mailer: sesMailer(process.env, config),
        log: jsonLogger(),
      };
      router = createRouterFor(routes(deps, config), deps, config);
    }
    return toApiGatewayV2(await router(fromApiGatewayV2(event)));
  };
}
