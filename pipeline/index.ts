/** The pipeline DSL: define stages, compile them, estimate their cost. */
export * from "./duration.js";
export * from "./image.js";
export * from "./instances.js";
export * from "./stage.js";
export * from "./errors.js";
export * from "./define.js";
export * from "./environment.js";
export { QUOTA_KINDS, quotaName, quotaRequestHint, stageCapacity, type QuotaKind, type StageCapacity } from "./quotas.js";
export * from "./layout.js";
export * from "./compile.js";
export * from "./cost.js";
export * from "./capacity.js";
export type * from "./asl.js";
export { ref, toAslParameters, resolveReferences } from "./references.js";
export * from "./sagemaker/validate-request.js";
