/** Lambda entry (bundled by the stack, exports `handler`): job-status for Spaceport's pipeline. */
import { jobStatusHandler } from "../../functions/job-status/lambda.js";
import { spaceport } from "../spaceport.js";

export const handler = jobStatusHandler(spaceport);
