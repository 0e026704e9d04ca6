/**
 * estimates: `GET /estimates` → the pipeline's job options (values, default) and the cost
 * model's time and cost per stage and in all (pipeline/cost.ts, the same figures `describe`
 * prints), so a page shows them without a copy of either. The cost model has one figure per
 * stage (expected duration × instance price), so it is the same for every option value.
 */
import { estimateCost } from "../../pipeline/cost.js";
import type { FunctionConfig } from "../config.js";
import type { RouteResult } from "../http.js";

export function estimates(config: FunctionConfig): RouteResult {
  const cost = estimateCost(config.pipeline, config.env);
  const options = Object.fromEntries(
    Object.values(config.pipeline.options).map((o) => [o.name, { values: [...o.values], default: o.default, description: o.description }]),
  );
  return {
    status: 200,
    body: {
      options,
      estimate: {
        seconds: cost.totalSeconds,
        usd: Math.round(cost.totalUsd * 100) / 100,
        stages: cost.stages.map((s) => ({ stage: s.stage, instanceType: s.instanceType, seconds: s.expectedSeconds, usd: Math.round(s.costUsd * 100) / 100, spot: s.spot })),
      },
    },
  };
}
