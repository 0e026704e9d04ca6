/**
 * estimates: `GET /estimates` → the pipeline's job options (values, default) and the cost
 * model's time and cost per stage and in all (pipeline/cost.ts, the same figures `describe`
 * prints) at the options' defaults, and the total for each value of each option (the others at
 * their defaults), so a page shows the estimate for what its user picks without a copy of the
 * cost model.
 */
import { estimateCost } from "../../pipeline/cost.js";
import type { FunctionConfig } from "../config.js";
import type { RouteResult } from "../http.js";

const cents = (usd: number) => Math.round(usd * 100) / 100;

export function estimates(config: FunctionConfig): RouteResult {
  const cost = estimateCost(config.pipeline, config.env);
  const jobOptions = Object.values(config.pipeline.options);
  const options = Object.fromEntries(jobOptions.map((o) => [o.name, { values: [...o.values], default: o.default, description: o.description }]));
  const byOption = Object.fromEntries(
    jobOptions.map((o) => [
      o.name,
      Object.fromEntries(
        o.values.map((value) => {
          const c = estimateCost(config.pipeline, config.env, { choices: { [o.name]: value } });
          return [value, { seconds: c.totalSeconds, usd: cents(c.totalUsd) }];
        }),
      ),
    ]),
  );
  return {
    status: 200,
    body: {
      options,
      estimate: {
        seconds: cost.totalSeconds,
        usd: cents(cost.totalUsd),
        stages: cost.stages.map((s) => ({ stage: s.stage, instanceType: s.instanceType, seconds: s.expectedSeconds, usd: cents(s.costUsd), spot: s.spot })),
      },
      byOption,
    },
  };
}
