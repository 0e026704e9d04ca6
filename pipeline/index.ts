/** The pipeline DSL: define stages, compile them, estimate their cost. */
export * from "./duration.js";
export * from "./image.js";
export * from "./instances.js";
export * from "./stage.js";
export * from "./errors.js";
export * from "./define.js";
export * from "./environment.js";
export * from "./layout.js";
export * from "./compile.js";
export * from "./cost.js";
export type * from "./asl.js";
export { ref, toAslParameters, resolveReferences } from "./references.js";
export * from "./sagemaker/validate-request.js";
export * from "./format.js";
export * from "./json.js";
export * from "./stage-contract.js";
export type * from "./notify-payload.js";
