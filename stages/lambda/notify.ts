/** Lambda entry (bundled by the stack, exports `handler`): notify for Spaceport's pipeline. */
import { notifyHandler } from "../../functions/notify/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = notifyHandler(spaceport);
