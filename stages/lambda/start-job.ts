/** Lambda entry (bundled by the stack, exports `handler`): start-job for Spaceport's pipeline. */
import { startJobHandler } from "../../functions/start-job/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = startJobHandler(spaceport);
