/**
 * The Llama layout Qwen2, Qwen3 and Llama 3 share (transformers'
 * LlamaDecoderLayer and its copies): pre-norm attention and a SwiGLU MLP,
 * each added to the residual, plain RMSNorm, full causal attention with one
 * RoPE table. The family modules (qwen2.ts, qwen3.ts, llama.ts) say what
 * differs — biases, per-head q/k norm, the tied-head default — and call
 * these pieces; a family that departs further (gemma3.ts) writes its own block.
 */
import type { DecoderConfig, FamilyRef, RopeSpec } from '../config.js';
import { readRopeScaling, refuse, refuseExperts, ropeTheta, sharedDims } from '../config.js';
import { attention, type AttentionWeights } from '../attention.js';
import type { WeightEncoding } from '../quantize.js';
import type { RegisteredWeight, WeightTable } from '../weights.js';
import type { FamilyModel } from './family.js';

export interface LlamaLayoutOptions {
  /** q/k/v always carry a bias (Qwen2); otherwise config.json `attention_bias` decides. */
  qkvBiasAlways: boolean;
  /** o_proj carries a bias when attention_bias is set (Llama, Qwen3); Qwen2's never does. */
  oBiasFollowsAttentionBias: boolean;
  /** Per-head RMSNorm on q and k before RoPE (`q_norm`, `k_norm`: Qwen3). */
  qkNorm: boolean;
  /** `tie_word_embeddings` when config.json does not say. */
  tiedByDefault: boolean;
}

/** config.json of a Llama-layout model; refuses the features this block does not build. */
export function configureLlamaLayout(raw: Record<string, unknown>, architecture: string, family: FamilyRef, options: LlamaLayoutOptions): DecoderConfig {
  if (raw.use_sliding_window === true) refuse('use_sliding_window', 'is true (sliding-window attention)');
  refuseExperts(raw);
  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') refuse('hidden_act', `is "${String(act)}"`);
  if (typeof raw.partial_rotary_factor === 'number' && raw.partial_rotary_factor !== 1) refuse('partial_rotary_factor', `is ${raw.partial_rotary_factor}`);
  if (raw.layer_types !== undefined && Array.isArray(raw.layer_types) && raw.layer_types.some((t) => t !== 'full_attention')) {
    refuse('layer_types', 'mixes attention kinds');
  }
  const scaling = readRopeScaling(raw, ['llama3']);
  const dims = sharedDims(raw);
  const rope: RopeSpec = { key: '', theta: ropeTheta(raw, 'rope_theta', 10000), scaling };
  const attentionBias = options.qkvBiasAlways || raw.attention_bias === true;
  return {
    architecture,
    family,
    ...dims,
    ropeTheta: rope.theta,
    ropeScaling: scaling,
    tieWordEmbeddings: raw.tie_word_embeddings === undefined ? options.tiedByDefault : raw.tie_word_embeddings === true,
    attentionBias,
    mlpBias: raw.mlp_bias === true,
    queryPreAttnScalar: dims.headDim,
    attention: Array.from({ length: dims.layers }, () => ({ rope, window: null })),
  };
}

interface LayerWeights {
  inputNorm: RegisteredWeight;
  postNorm: RegisteredWeight;
  attn: AttentionWeights;
  gate: RegisteredWeight;
  up: RegisteredWeight;
  down: RegisteredWeight;
  mlpBiases: [RegisteredWeight | null, RegisteredWeight | null, RegisteredWeight | null];
}

/** Registers the Llama-layout weights (embedding, each layer, final norm, lm_head) and returns the block code. */
export function llamaLayoutModel(config: DecoderConfig, weights: WeightTable, encoding: WeightEncoding, options: LlamaLayoutOptions): FamilyModel {
  const { hiddenSize: d, heads: n, kvHeads: g, headDim: h, intermediateSize: f, vocabSize: vocab } = config;
  const float = (name: string, shape: number[]) => weights.weight(name, 'float32', shape);
  const embed = weights.weight('model.embed_tokens.weight', encoding, [vocab, d]);
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.layers; i++) {
    const p = `model.layers.${i}`;
    const bias = (prefix: string, size: number, present: boolean) => (present ? float(`${prefix}.bias`, [size]) : null);
    const inputNorm = float(`${p}.input_layernorm.weight`, [d]);
    const q = weights.weight(`${p}.self_attn.q_proj.weight`, encoding, [n * h, d]);
    const qBias = bias(`${p}.self_attn.q_proj`, n * h, config.attentionBias);
    const k = weights.weight(`${p}.self_attn.k_proj.weight`, encoding, [g * h, d]);
    const kBias = bias(`${p}.self_attn.k_proj`, g * h, config.attentionBias);
    const v = weights.weight(`${p}.self_attn.v_proj.weight`, encoding, [g * h, d]);
    const vBias = bias(`${p}.self_attn.v_proj`, g * h, config.attentionBias);
    const qNorm = options.qkNorm ? float(`${p}.self_attn.q_norm.weight`, [h]) : null;
    const kNorm = options.qkNorm ? float(`${p}.self_attn.k_norm.weight`, [h]) : null;
    const o = weights.weight(`${p}.self_attn.o_proj.weight`, encoding, [d, n * h]);
    const oBias = bias(`${p}.self_attn.o_proj`, d, config.attentionBias && options.oBiasFollowsAttentionBias);
    layers.push({
      inputNorm,
      attn: { q, k, v, o, qBias, kBias, vBias, oBias, qNorm, kNorm },
      postNorm: float(`${p}.post_attention_layernorm.weight`, [d]),
      gate: weights.weight(`${p}.mlp.gate_proj.weight`, encoding, [f, d]),
      up: weights.weight(`${p}.mlp.up_proj.weight`, encoding, [f, d]),
      down: weights.weight(`${p}.mlp.down_proj.weight`, encoding, [d, f]),
      mlpBiases: [bias(`${p}.mlp.gate_proj`, f, config.mlpBias), bias(`${p}.mlp.up_proj`, f, config.mlpBias), bias(`${p}.mlp.down_proj`, d, config.mlpBias)],
    });
  }
  const finalNorm = float('model.norm.weight', [d]);
  const lmHead = config.tieWordEmbeddings ? embed : weights.weight('lm_head.weight', encoding, [vocab, d]);
  const eps = config.rmsNormEps;
  return {
    embed,
    embedScale: null,
    lmHead,
    block(s, i, x) {
      const lw = layers[i]!;
      const L = s.L;
      const hn = L.rmsNorm(x, lw.inputNorm, eps, `l${i}_input_norm`);
      const attn = attention(s, i, hn, lw.attn, config.attention[i]!, (y, w, label) => L.rmsNorm(y, w, eps, label));
      if (attn === null) return null;
      const mid = L.binary('ADD', x, attn, `l${i}_attn_residual`);
      const hm = L.rmsNorm(mid, lw.postNorm, eps, `l${i}_post_norm`);
      return L.binary('ADD', mid, L.mlp(hm, lw.gate, lw.up, lw.down, lw.mlpBiases, `l${i}_mlp`, 'silu'), `l${i}_mlp_residual`);
    },
    finalNorm: (s, x) => s.L.rmsNorm(x, finalNorm, eps, 'final_norm'),
  };
}
