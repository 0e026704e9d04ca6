// How long the delivery's links work, as the runtime tells the stage: on AWS the stack's
// `deliveryRetentionDays` (SPACEPORT_LINK_DAYS, set in the compiled SageMaker request), in the
// local runtime "while served" (SPACEPORT_LINKS_WHILE_SERVED=1, set by its SageMaker emulator,
// which wins: a local run serves its own links whatever the environment's retention says).
import type { LinkLifetime } from "../../../pipeline/delivery-facts.js";
import { LINK_DAYS_ENV, LINKS_WHILE_SERVED_ENV } from "../../../pipeline/stage-contract.js";
import { CompressorError } from "./errors.js";

/** The links' lifetime from the stage's environment; null when neither variable is set. */
export function linkLifetimeFromEnv(env: NodeJS.ProcessEnv): LinkLifetime | null {
  if (/^(1|true|yes)$/i.test(env[LINKS_WHILE_SERVED_ENV] ?? "")) return { whileServed: true };
  const raw = env[LINK_DAYS_ENV];
  if (raw === undefined || raw === "") return null;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1) throw new CompressorError(`${LINK_DAYS_ENV}=${raw} must be a whole number of days, at least 1.`);
  return { days };
}
