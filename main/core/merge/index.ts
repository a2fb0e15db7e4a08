/**
 * The native LoRA merge: public surface for the stage script, the CLI and
 * the API (see docs/merge.md).
 */
export { mergeLora, summariseMerge, peakRssBytes, ADAPTER_WEIGHTS_FILE } from './merge.js';
export type { MergeOptions, MergeProgress, MergeResult } from './merge.js';
export { readAdapterConfig, parseAdapterConfig, rankAndAlpha, loraScaling, isTargetModule, getPatternKey } from './adapterConfig.js';
export type { AdapterConfig } from './adapterConfig.js';
export { buildMergePlan } from './plan.js';
export type { MergePlan, TensorPlan } from './plan.js';
export { verifyMergedModel } from './verify.js';
export type { VerifyResult } from './verify.js';
