/**
 * Lambda entry for notify, for the given pipeline: the state machine's payload (lambda:invoke
 * Payload) → notify; an EventBridge execution status change (an ending no Catch saw) →
 * notifyExecutionEnded.
 */
import type { Pipeline } from "../../pipeline/define.js";
import { s3Store, sesMailer, stepFunctions } from "../adapters/aws/index.js";
import { configFromEnv, type FunctionConfig } from "../config.js";
import { jsonLogger } from "../log.js";
import { isExecutionStatusChange, notifyExecutionEnded } from "./execution-event.js";
import { notify, type NotifyDeps, type NotifyResult } from "./handler.js";

/** The handler a composition root exports (`export const handler = notifyHandler(pipeline)`). */
export function notifyHandler(pipeline: Pipeline): (event: unknown) => Promise<NotifyResult | undefined> {
  let wired: { deps: NotifyDeps; config: FunctionConfig } | undefined;
  return async (event) => {
    if (!wired) {
      const config = configFromEnv(process.env, pipeline);
      wired = {
        config,
        deps: {
          store: s3Store(process.env, config),
          mailer: sesMailer(process.env, config),
          ...(process.env["SPACEPORT_STATE_MACHINE_ARN"] ? { executions: stepFunctions(process.env, config) } : {}),
          log: jsonLogger(),
        },
      };
    }
    if (isExecutionStatusChange(event)) return notifyExecutionEnded(event, wired.deps, wired.config);
    return notify(event, wired.deps, wired.config);
  };
}
