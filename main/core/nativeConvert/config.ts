/**
 * Reads a Hugging Face `config.json` into the few numbers a decoder graph
 * needs, and refuses, before anything is written, every architecture feature
 * the native builders do not implement (sliding-window attention, mixture of
 * experts, rope scalings other than llama3, another activation, ...): one
 * sentence naming the field and pointing at the Python `export_hf` route.
 */
import { WorkbenchError } from '../../common/errors.js';
import { familyFor, SUPPORTED_ARCHITECTURES, type DecoderFamily } from './families.js';

export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface DecoderConfig {
  architecture: string;
  family: DecoderFamily;
  hiddenSize: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  tieWordEmbeddings: boolean;
  maxPositionEmbeddings: number | null;
  attentionBias: boolean;
  mlpBias: boolean;
}

const EXPORT_HF_HINT = 'use the export_hf route (litert-torch) for this model';

function refuse(field: string, what: string): never {
  throw new WorkbenchError('unsupported_model_feature', `config.json ${field} ${what}: the native converter does not build this; ${EXPORT_HF_HINT}.`, { field });
}

function positiveInt(config: Record<string, unknown>, field: string, fallback?: number): number {
  const value = config[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new WorkbenchError('bad_config', `config.json ${field} must be a positive whole number (found ${JSON.stringify(config[field])}).`, { field });
  }
  return value;
}

function positiveNumber(config: Record<string, unknown>, field: string, fallback: number): number {
  const value = config[field] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new WorkbenchError('bad_config', `config.json ${field} must be a positive number (found ${JSON.stringify(config[field])}).`, { field });
  }
  return value;
}

export function parseDecoderConfig(config: Record<string, unknown>): DecoderConfig {
  const architectures = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === 'string') : [];
  const architecture = architectures[0];
  if (!architecture) {
    throw new WorkbenchError('bad_config', 'config.json has no "architectures" entry, so the model family is unknown.', { field: 'architectures' });
  }
  const family = familyFor(architecture);
  if (!family) {
    throw new WorkbenchError(
      'unsupported_architecture',
      `config.json architectures ${architecture} has no native graph builder (supported: ${SUPPORTED_ARCHITECTURES.join(', ')}); ${EXPORT_HF_HINT}.`,
      { field: 'architectures', architecture },
    );
  }

  // Features that change the graph and are not built natively.
  if (config.use_sliding_window === true) refuse('use_sliding_window', 'is true (sliding-window attention)');
  for (const field of ['num_experts', 'num_local_experts', 'n_routed_experts']) {
    if (typeof config[field] === 'number' && (config[field] as number) > 0) refuse(field, `is ${config[field]} (mixture of experts)`);
  }
  const act = config.hidden_act ?? 'silu';
  if (act !== 'silu') refuse('hidden_act', `is "${String(act)}"`);
  if (typeof config.partial_rotary_factor === 'number' && config.partial_rotary_factor !== 1) refuse('partial_rotary_factor', `is ${config.partial_rotary_factor}`);
  if (config.layer_types !== undefined && Array.isArray(config.layer_types) && config.layer_types.some((t) => t !== 'full_attention')) {
    refuse('layer_types', 'mixes attention kinds');
  }

  let ropeScaling: Llama3RopeScaling | null = null;
  const scaling = config.rope_scaling as Record<string, unknown> | null | undefined;
  if (scaling !== null && scaling !== undefined) {
    const type = scaling.rope_type ?? scaling.type;
    if (type === 'default') ropeScaling = null;
    else if (type === 'llama3') {
      const num = (field: string): number => {
        const v = scaling[field];
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
          throw new WorkbenchError('bad_config', `config.json rope_scaling.${field} must be a positive number for llama3 scaling.`, { field: `rope_scaling.${field}` });
        }
        return v;
      };
      ropeScaling = {
        factor: num('factor'),
        lowFreqFactor: num('low_freq_factor'),
        highFreqFactor: num('high_freq_factor'),
        originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
      };
      if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) {
        throw new WorkbenchError('bad_config', 'config.json rope_scaling.high_freq_factor must exceed low_freq_factor.', { field: 'rope_scaling' });
      }
    } else refuse('rope_scaling', `has type "${String(type)}" (only llama3 scaling is built natively)`);
  }

  const hiddenSize = positiveInt(config, 'hidden_size');
  const heads = positiveInt(config, 'num_attention_heads');
  const kvHeads = positiveInt(config, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    throw new WorkbenchError('bad_config', `config.json num_attention_heads (${heads}) is not a multiple of num_key_value_heads (${kvHeads}).`, { field: 'num_key_value_heads' });
  }
  const headDim = config.head_dim === undefined || config.head_dim === null ? hiddenSize / heads : positiveInt(config, 'head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new WorkbenchError('bad_config', `The head dimension (${headDim}) must be an even whole number (hidden_size / num_attention_heads or head_dim).`, { field: 'head_dim' });
  }
  const maxPos = config.max_position_embeddings;
  return {
    architecture,
    family,
    hiddenSize,
    layers: positiveInt(config, 'num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediateSize: positiveInt(config, 'intermediate_size'),
    vocabSize: positiveInt(config, 'vocab_size'),
    rmsNormEps: positiveNumber(config, 'rms_norm_eps', 1e-6),
    ropeTheta: positiveNumber(config, 'rope_theta', 10000),
    ropeScaling,
    tieWordEmbeddings: config.tie_word_embeddings === undefined ? family.tiedByDefault : config.tie_word_embeddings === true,
    maxPositionEmbeddings: typeof maxPos === 'number' && maxPos > 0 ? maxPos : null,
    attentionBias: family.attentionBias || config.attention_bias === true,
    mlpBias: config.mlp_bias === true,
  };
}
