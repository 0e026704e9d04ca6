/** Lambda entry (bundled by the stack, exports `handler`): the uploads API for Spaceport's pipeline. */
import { uploadsHandler } from "../../functions/uploads/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = uploadsHandler(spaceport);
