/** Lambda entry (bundled by the stack, exports `handler`): cancel for Spaceport's pipeline. */
import { cancelHandler } from "../../functions/cancel/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = cancelHandler(spaceport);
