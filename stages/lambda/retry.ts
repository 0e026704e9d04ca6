/** Lambda entry (bundled by the stack, exports `handler`): retry for Spaceport's pipeline. */
import { retryHandler } from "../../functions/cancel/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = retryHandler(spaceport);
