/**
 * Gemma 3 text (`Gemma3ForCausalLM`, model_type `gemma3_text`; and the text
 * tower of `Gemma3ForConditionalGeneration`), following transformers'
 * modeling_gemma3.py:
 *   - embedding × √hidden_size, the multiplier in the graph's compute dtype
 *     (float32; transformers casts it to the weight dtype, which is float32
 *     when the model runs in float32 — docs/conversion.md says why);
 *   - RMSNorm x · rsqrt(mean x² + eps) · (1 + w), four per block (input,
 *     post-attention, pre-feedforward, post-feedforward), the post norms
 *     applied to the branch before it joins the residual;
 *   - per-head q/k RMSNorm before RoPE; scores × query_pre_attn_scalar^−½;
 *   - gated MLP with GELU-tanh (`gelu_pytorch_tanh`); tied lm_head by default;
 *   - sliding-window layers from `layer_types` (else `sliding_window_pattern`,
 *     default 6: layer i is global when (i + 1) % pattern == 0), the window
 *     built in the graph from input_pos (signature.ts);
 *   - RoPE base `rope_local_base_freq` on sliding layers, `rope_theta` with
 *     `rope_scaling` (linear) on global ones — or transformers 5's
 *     `rope_parameters` per layer type.
 * Refused, one sentence each: logit softcapping, bidirectional attention,
 * attention biases, another activation or rope type, mixture of experts.
 */
import { WorkbenchError } from '../../../common/errors.js';
import { attention, type AttentionWeights } from '../attention.js';
import type { DecoderConfig, LayerAttention, RopeScaling, RopeSpec } from '../config.js';
import { positiveInt, positiveNumber, readRopeScaling, refuse, refuseExperts, ropeTheta, sharedDims } from '../config.js';
import type { RegisteredWeight } from '../weights.js';
import type { DecoderFamily } from './family.js';

const SLIDING = 'sliding_attention';
const FULL = 'full_attention';

/** The text config: the file itself (Gemma3ForCausalLM) or its `text_config` (Gemma3ForConditionalGeneration). */
function textConfig(raw: Record<string, unknown>, architecture: string): Record<string, unknown> {
  if (architecture !== 'Gemma3ForConditionalGeneration') return raw;
  const text = raw.text_config;
  if (!text || typeof text !== 'object' || Array.isArray(text)) {
    throw new WorkbenchError('bad_config', 'config.json of a Gemma3ForConditionalGeneration model has no text_config object.', { field: 'text_config' });
  }
  // Fields transformers reads from the top level when the text config leaves them out.
  return { tie_word_embeddings: raw.tie_word_embeddings, ...(text as Record<string, unknown>) };
}

function layerTypes(c: Record<string, unknown>, layers: number): string[] {
  if (Array.isArray(c.layer_types)) {
    const types = c.layer_types;
    if (types.length !== layers || types.some((t) => t !== SLIDING && t !== FULL)) {
      throw new WorkbenchError('bad_config', `config.json layer_types must list "${SLIDING}" or "${FULL}" for each of the ${layers} layers.`, { field: 'layer_types' });
    }
    return types as string[];
  }
  const pattern = positiveInt(c, 'sliding_window_pattern', 6);
  return Array.from({ length: layers }, (_, i) => ((i + 1) % pattern === 0 ? FULL : SLIDING));
}

/** transformers 5 writes `rope_parameters: {sliding_attention: {...}, full_attention: {...}}`; 4.x writes rope_theta / rope_local_base_freq / rope_scaling. */
function ropeSpecs(c: Record<string, unknown>): { local: RopeSpec; global: RopeSpec } {
  const params = c.rope_parameters as Record<string, unknown> | undefined;
  if (params && typeof params === 'object' && (SLIDING in params || FULL in params)) {
    const read = (type: string, key: string, fallbackTheta: number): RopeSpec => {
      const p = (params[type] ?? {}) as Record<string, unknown>;
      const scaling = readRopeScaling({ rope_scaling: p }, ['linear']);
      return { key, theta: ropeTheta(p, 'rope_theta', fallbackTheta), scaling };
    };
    return { local: read(SLIDING, 'local', 10000), global: read(FULL, '', 1_000_000) };
  }
  const scaling: RopeScaling | null = readRopeScaling(c, ['linear']);
  return {
    local: { key: 'local', theta: ropeTheta(c, 'rope_local_base_freq', 10000), scaling: null },
    global: { key: '', theta: ropeTheta(c, 'rope_theta', 1_000_000), scaling },
  };
}

function configure(raw: Record<string, unknown>, architecture: string): DecoderConfig {
  const c = textConfig(raw, architecture);
  for (const field of ['final_logit_softcapping', 'attn_logit_softcapping']) {
    if (c[field] !== undefined && c[field] !== null) refuse(field, `is ${JSON.stringify(c[field])} (logit softcapping)`);
  }
  if (c.use_bidirectional_attention === true) refuse('use_bidirectional_attention', 'is true (bidirectional attention)');
  if (c.attention_bias === true) refuse('attention_bias', 'is true (attention biases in Gemma 3)');
  refuseExperts(c);
  const act = c.hidden_activation ?? c.hidden_act ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') refuse('hidden_activation', `is "${String(act)}" (Gemma 3 is built with gelu_pytorch_tanh)`);
  if (typeof c.partial_rotary_factor === 'number' && c.partial_rotary_factor !== 1) refuse('partial_rotary_factor', `is ${c.partial_rotary_factor}`);
  const dims = sharedDims(c, { headDim: 256 });
  const types = layerTypes(c, dims.layers);
  const window = positiveInt(c, 'sliding_window', 4096);
  const { local, global } = ropeSpecs(c);
  const attentionPlan: LayerAttention[] = types.map((type) => (type === SLIDING ? { rope: local, window } : { rope: global, window: null }));
  return {
    architecture,
    family: gemma3,
    ...dims,
    ropeTheta: global.theta,
    ropeScaling: global.scaling,
    tieWordEmbeddings: c.tie_word_embeddings === undefined || c.tie_word_embeddings === null ? true : c.tie_word_embeddings === true,
    attentionBias: false,
    mlpBias: false,
    queryPreAttnScalar: positiveNumber(c, 'query_pre_attn_scalar', 256),
    attention: attentionPlan,
  };
}

/** Where the text weights live: `model.` (CausalLM), `language_model.model.` or `model.language_model.` (ConditionalGeneration). */
const PREFIXES = ['model.', 'model.language_model.', 'language_model.model.'];

interface LayerWeights {
  inputNorm: RegisteredWeight;
  postAttnNorm: RegisteredWeight;
  preFfNorm: RegisteredWeight;
  postFfNorm: RegisteredWeight;
  attn: AttentionWeights;
  gate: RegisteredWeight;
  up: RegisteredWeight;
  down: RegisteredWeight;
}

export const gemma3: DecoderFamily = {
  name: 'gemma3',
  architectures: ['Gemma3ForCausalLM', 'Gemma3ForConditionalGeneration'],
  configure,
  ignoresTensor: (name) => name.startsWith('vision_tower.') || name.startsWith('multi_modal_projector.') || name.startsWith('model.vision_tower.') || name.startsWith('model.multi_modal_projector.'),
  model(config, weights, encoding) {
    const { hiddenSize: d, heads: n, kvHeads: g, headDim: h, intermediateSize: f, vocabSize: vocab } = config;
    const prefix = PREFIXES.find((p) => weights.has(`${p}embed_tokens.weight`)) ?? 'model.';
    const float = (name: string, shape: number[]) => weights.weight(name, 'float32', shape);
    const embed = weights.weight(`${prefix}embed_tokens.weight`, encoding, [vocab, d]);
    const layers: LayerWeights[] = [];
    for (let i = 0; i < config.layers; i++) {
      const p = `${prefix}layers.${i}`;
      const inputNorm = float(`${p}.input_layernorm.weight`, [d]);
      const q = weights.weight(`${p}.self_attn.q_proj.weight`, encoding, [n * h, d]);
      const k = weights.weight(`${p}.self_attn.k_proj.weight`, encoding, [g * h, d]);
      const v = weights.weight(`${p}.self_attn.v_proj.weight`, encoding, [g * h, d]);
      const qNorm = float(`${p}.self_attn.q_norm.weight`, [h]);
      const kNorm = float(`${p}.self_attn.k_norm.weight`, [h]);
      const o = weights.weight(`${p}.self_attn.o_proj.weight`, encoding, [d, n * h]);
      layers.push({
        inputNorm,
        attn: { q, k, v, o, qBias: null, kBias: null, vBias: null, oBias: null, qNorm, kNorm },
        postAttnNorm: float(`${p}.post_attention_layernorm.weight`, [d]),
        preFfNorm: float(`${p}.pre_feedforward_layernorm.weight`, [d]),
        gate: weights.weight(`${p}.mlp.gate_proj.weight`, encoding, [f, d]),
        up: weights.weight(`${p}.mlp.up_proj.weight`, encoding, [f, d]),
        down: weights.weight(`${p}.mlp.down_proj.weight`, encoding, [d, f]),
        postFfNorm: float(`${p}.post_feedforward_layernorm.weight`, [d]),
      });
    }
    const finalNorm = float(`${prefix}norm.weight`, [d]);
    const lmHead = config.tieWordEmbeddings ? embed : weights.weight(prefix === 'model.language_model.' ? 'lm_head.weight' : prefix === 'language_model.model.' ? 'language_model.lm_head.weight' : 'lm_head.weight', encoding, [vocab, d]);
    const eps = config.rmsNormEps;
    return {
      embed,
      embedScale: Math.fround(Math.sqrt(d)),
      lmHead,
      block(s, i, x) {
        const lw = layers[i]!;
        const L = s.L;
        const norm = (y: number, w: RegisteredWeight, label: string) => L.rmsNorm(y, w, eps, label, true);
        const attn = attention(s, i, norm(x, lw.inputNorm, `l${i}_input_norm`), lw.attn, config.attention[i]!, norm);
        if (attn === null) return null;
        const mid = L.binary('ADD', x, norm(attn, lw.postAttnNorm, `l${i}_post_attn_norm`), `l${i}_attn_residual`);
        const mlp = L.mlp(norm(mid, lw.preFfNorm, `l${i}_pre_ff_norm`), lw.gate, lw.up, lw.down, [null, null, null], `l${i}_mlp`, 'gelu_tanh');
        return L.binary('ADD', mid, norm(mlp, lw.postFfNorm, `l${i}_post_ff_norm`), `l${i}_mlp_residual`);
      },
      finalNorm: (s, x) => s.L.rmsNorm(x, finalNorm, eps, 'final_norm', true),
    };
  },
};
