/**
 * Tiny random-weight Gemma 3 text checkpoints (Gemma3ForCausalLM, or the
 * Gemma3ForConditionalGeneration layout with a nested text_config and a
 * stand-in vision tower), with real config.json and safetensors bytes: local
 * and global layers (sliding_window_pattern or layer_types), a window shorter
 * than the test sequences, grouped-query attention, all four norms per block
 * and q/k norms (zero-centred: stored near 0, applied as 1 + w), tied head.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FloatDtype } from '../../main/core/safetensors/dtypes.js';
import { writeSafetensors, type TensorSpec } from './mergeSupport.js';

export interface TinyGemma3Options {
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  slidingWindow?: number;
  /** Every pattern-th layer is global (transformers' sliding_window_pattern). */
  pattern?: number;
  /** Written as layer_types instead of the pattern. */
  layerTypes?: string[];
  queryPreAttnScalar?: number;
  ropeScaling?: Record<string, unknown> | null;
  dtype?: FloatDtype;
  seed?: number;
  /** Gemma3ForConditionalGeneration layout (text_config, model.language_model.* tensors, a vision tower). */
  multimodal?: boolean;
  /** Embedding values ~ embedStd/√hidden (× √hidden in the model); smaller lets the blocks dominate the residual. */
  embedStd?: number;
  /** Extra or overriding (text) config fields. */
  config?: Record<string, unknown>;
}

export async function writeTinyGemma3(dir: string, options: TinyGemma3Options = {}): Promise<string> {
  const hidden = options.hidden ?? 96;
  const layers = options.layers ?? 6;
  const heads = options.heads ?? 4;
  const kvHeads = options.kvHeads ?? 2;
  const headDim = options.headDim ?? 32;
  const inter = options.intermediate ?? 128;
  const vocab = options.vocab ?? 256;
  const dtype = options.dtype ?? 'BF16';
  const prefix = options.multimodal ? 'model.language_model.' : 'model.';
  const specs: TensorSpec[] = [];
  const random = (name: string, shape: number[], scale: number) => specs.push({ name, shape, dtype, scale });
  // Zero-centred norm weights: small deterministic values around 0 (applied as 1 + w).
  const norm = (name: string, size: number) => {
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = 0.2 * Math.sin(i * 1.7 + name.length);
    specs.push({ name, shape: [size], dtype, values });
  };
  const lin = 1 / Math.sqrt(hidden);
  // The embedding is multiplied by √hidden in the model: keep rows small so activations stay realistic.
  random(`${prefix}embed_tokens.weight`, [vocab, hidden], (options.embedStd ?? 2) / Math.sqrt(hidden));
  for (let i = 0; i < layers; i++) {
    const p = `${prefix}layers.${i}`;
    norm(`${p}.input_layernorm.weight`, hidden);
    random(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], 2 * lin);
    random(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], 2 * lin);
    random(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], 2 * lin);
    norm(`${p}.self_attn.q_norm.weight`, headDim);
    norm(`${p}.self_attn.k_norm.weight`, headDim);
    random(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], 2 / Math.sqrt(heads * headDim));
    norm(`${p}.post_attention_layernorm.weight`, hidden);
    norm(`${p}.pre_feedforward_layernorm.weight`, hidden);
    random(`${p}.mlp.gate_proj.weight`, [inter, hidden], 2 * lin);
    random(`${p}.mlp.up_proj.weight`, [inter, hidden], 2 * lin);
    random(`${p}.mlp.down_proj.weight`, [hidden, inter], 2 / Math.sqrt(inter));
    norm(`${p}.post_feedforward_layernorm.weight`, hidden);
  }
  norm(`${prefix}norm.weight`, hidden);
  if (options.multimodal) {
    random('model.vision_tower.vision_model.embeddings.patch_embedding.weight', [8, 12], 0.1);
    random('model.multi_modal_projector.mm_input_projection_weight', [8, hidden], 0.1);
  }
  await writeSafetensors(dir, specs, options.seed ?? 7);
  const text: Record<string, unknown> = {
    model_type: 'gemma3_text',
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    intermediate_size: inter,
    vocab_size: vocab,
    rms_norm_eps: 1e-6,
    rope_theta: 1_000_000,
    rope_local_base_freq: 10_000,
    rope_scaling: options.ropeScaling ?? null,
    sliding_window: options.slidingWindow ?? 5,
    query_pre_attn_scalar: options.queryPreAttnScalar ?? headDim,
    hidden_activation: 'gelu_pytorch_tanh',
    max_position_embeddings: 4096,
    final_logit_softcapping: null,
    attn_logit_softcapping: null,
    attention_bias: false,
    tie_word_embeddings: true,
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32',
    bos_token_id: 2,
    eos_token_id: [1, 106],
    pad_token_id: 0,
  };
  if (options.layerTypes) text.layer_types = options.layerTypes;
  else text.sliding_window_pattern = options.pattern ?? 3;
  Object.assign(text, options.config);
  const config = options.multimodal
    ? { architectures: ['Gemma3ForConditionalGeneration'], model_type: 'gemma3', text_config: text, vision_config: { model_type: 'siglip_vision_model' }, tie_word_embeddings: true }
    : { architectures: ['Gemma3ForCausalLM'], ...text };
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}
