/**
 * Lambda entry for notify: the state machine's payload (lambda:invoke Payload) → notify; an
 * EventBridge execution status change (an ending no Catch saw) → notifyExecutionEnded.
 */
import { s3Store, sesMailer, stepFunctions } from "../adapters/aws/index.js";
import { configFromEnv, type FunctionConfig } from "../config.js";
import { jsonLogger } from "../log.js";
import { isExecutionStatusChange, notifyExecutionEnded } from "./execution-event.js";
import { notify, type NotifyDeps, type NotifyResult } from "./handler.js";

let wired: { deps: NotifyDeps; config: FunctionConfig } | undefined;

export async function handler(event: unknown): Promise<NotifyResult | undefined> {
  if (!wired) {
    const config = configFromEnv(process.env);
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
}
