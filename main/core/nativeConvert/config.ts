/**
 * The decoder description every family module produces from config.json
 * (families/*.ts), and the shared rules for reading it: the dimensions all
 * families have, numbers that must be positive and finite, and the one
 * sentence a refused feature gets (naming the field, pointing at the Python
 * `export_hf` route). Which architecture maps to which module is
 * families/index.ts.
 */
import { WorkbenchError } from '../../common/errors.js';

export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

/** transformers' "linear" rope scaling: every inverse frequency divided by `factor`. */
export interface LinearRopeScaling {
  type: 'linear';
  factor: number;
}

export type RopeScaling = Llama3RopeScaling | LinearRopeScaling;

/** One RoPE table: its base and scaling. `key` names its tensors ('' for the first/only one). */
export interface RopeSpec {
  key: string;
  theta: number;
  scaling: RopeScaling | null;
}

/** How one layer attends: which RoPE table, and a sliding window (positions seen, itself included) or null for full causal. */
export interface LayerAttention {
  rope: RopeSpec;
  window: number | null;
}

/** The family a config belongs to (the module itself is looked up by architecture in families/index.ts). */
export interface FamilyRef {
  name: string;
  architectures: readonly string[];
}

export interface DecoderConfig {
  architecture: string;
  family: FamilyRef;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  rmsNormEps: number;
  /** Base and scaling of the global (full-attention) layers' RoPE. */
  ropeTheta: number;
  ropeScaling: RopeScaling | null;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number | null;
  attentionBias: boolean;
  mlpBias: boolean;
  /** Attention scores are multiplied by queryPreAttnScalar^-½ (head_dim for all but Gemma). */
  queryPreAttnScalar: number;
  /** Per layer: RoPE table and window. */
  attention: LayerAttention[];
}

export const EXPORT_HF_HINT = 'use the export_hf route (litert-torch) for this model';

export function refuse(field: string, what: string): never {
  throw new WorkbenchError('unsupported_model_feature', `config.json ${field} ${what}: the native converter does not build this; ${EXPORT_HF_HINT}.`, { field });
}

export function positiveInt(config: Record<string, unknown>, field: string, fallback?: number): number {
  const value = config[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new WorkbenchError('bad_config', `config.json ${field} must be a positive whole number (found ${JSON.stringify(config[field])}).`, { field });
  }
  return value;
}

export function positiveNumber(config: Record<string, unknown>, field: string, fallback: number): number {
  const value = config[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new WorkbenchError('bad_config', `config.json ${field} must be a positive number (found ${JSON.stringify(config[field])}).`, { field });
  }
  return value;
}

/**
 * A number that must lie in [min, max] for the model to compute finite
 * values (e.g. rope_theta 5e-324 makes every inverse frequency infinite and
 * the logits NaN): one sentence naming the field and the range.
 */
export function numberInRange(config: Record<string, unknown>, field: string, fallback: number, min: number, max: number): number {
  const value = positiveNumber(config, field, fallback);
  if (value < min || value > max) {
    throw new WorkbenchError('bad_config', `config.json ${field} is ${value}, outside the range a model can compute with (${min} to ${max}).`, { field });
  }
  return value;
}

/** The dimensions every family reads the same way. */
export interface SharedDims {
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  rmsNormEps: number;
  maxPositionEmbeddings: number | null;
}

export function sharedDims(config: Record<string, unknown>, defaults: { headDim?: number } = {}): SharedDims {
  const hiddenSize = positiveInt(config, 'hidden_size');
  const heads = positiveInt(config, 'num_attention_heads');
  const kvHeads = positiveInt(config, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new WorkbenchError('bad_config', `config.json num_attention_heads (${heads}) is not a multiple of num_key_value_heads (${kvHeads}).`, { field: 'num_key_value_heads' });
  }
  const headDim = config.head_dim === undefined || config.head_dim === null ? (defaults.headDim ?? hiddenSize / heads) : positiveInt(config, 'head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new WorkbenchError('bad_config', `The head dimension (${headDim}) must be an even whole number (hidden_size / num_attention_heads or head_dim).`, { field: 'head_dim' });
  }
  const maxPos = config.max_position_embeddings;
  return {
    hiddenSize,
    layers: positiveInt(config, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediateSize: positiveInt(config, 'intermediate_size'),
    vocabSize: positiveInt(config, 'vocab_size'),
    rmsNormEps: numberInRange(config, 'rms_norm_eps', 1e-6, 1e-12, 1),
    maxPositionEmbeddings: typeof maxPos === 'number' && maxPos > 0 ? maxPos : null,
  };
}

/** A RoPE base in a range whose inverse frequencies are finite and distinct in float32. */
export function ropeTheta(config: Record<string, unknown>, field: string, fallback: number): number {
  return numberInRange(config, field, fallback, 1, 1e12);
}

/** Refuses mixture-of-experts fields (every family here is dense). */
export function refuseExperts(config: Record<string, unknown>): void {
  for (const field of ['num_experts', 'num_local_experts', 'n_routed_experts']) {
    if (typeof config[field] === 'number' && (config[field] as number) > 0) refuse(field, `is ${config[field]} (mixture of experts)`);
  }
}

/** `rope_scaling` of the types a family accepts (null for none/default), or a refusal naming the type. */
export function readRopeScaling(config: Record<string, unknown>, accepted: readonly RopeScaling['type'][]): RopeScaling | null {
  const scaling = config.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling === null || scaling === undefined) return null;
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return null;
  const num = (field: string): number => {
    const v = scaling[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new WorkbenchError('bad_config', `config.json rope_scaling.${field} must be a positive number for ${String(type)} scaling.`, { field: `rope_scaling.${field}` });
    }
    return v;
  };
  if (type === 'llama3' && accepted.includes('llama3')) {
    const out: Llama3RopeScaling = {
      type: 'llama3',
      factor: num('factor'),
      lowFreqFactor: num('low_freq_factor'),
      highFreqFactor: num('high_freq_factor'),
      originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
    };
    if (out.highFreqFactor <= out.lowFreqFactor) {
      throw new WorkbenchError('bad_config', 'config.json rope_scaling.high_freq_factor must exceed low_freq_factor.', { field: 'rope_scaling' });
    }
    return out;
  }
  if (type === 'linear' && accepted.includes('linear')) return { type: 'linear', factor: num('factor') };
  return refuse('rope_scaling', `has type "${String(type)}" (only ${accepted.join(' or ')} scaling is built natively)`);
}

