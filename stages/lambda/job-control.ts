/** Lambda entry (bundled by the stack, exports `handler`): cancel and retry for Spaceport's pipeline. */
import { jobControlHandler } from "../../functions/cancel/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = jobControlHandler(spaceport);
