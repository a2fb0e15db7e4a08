/**
 * Tiny random-weight Hugging Face checkpoints of the families the native
 * converter builds (Qwen2, Qwen3, Llama 3), with real config.json files and
 * real safetensors bytes: several layers, grouped-query attention, biases
 * and q/k norms where the family has them. Weights are scaled so activations
 * stay in a realistic range and greedy tokens are not near-ties everywhere.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FloatDtype } from '../../main/core/safetensors/dtypes.js';
import { writeSafetensors, type TensorSpec } from './mergeSupport.js';

export type TinyFamily = 'qwen2' | 'qwen3' | 'llama';

export interface TinyDecoderOptions {
  family: TinyFamily;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocab?: number;
  tied?: boolean;
  dtype?: FloatDtype;
  seed?: number;
  /** Extra or overriding config.json fields. */
  config?: Record<string, unknown>;
  /** Replace a tensor's values (e.g. to plant a NaN). */
  values?: Record<string, Float32Array>;
  /** Shard the checkpoint (model.safetensors.index.json) at this many bytes per file. */
  maxShardBytes?: number;
}

export async function writeTinyDecoder(dir: string, options: TinyDecoderOptions): Promise<string> {
  const family = options.family;
  const hidden = options.hidden ?? 64;
  const layers = options.layers ?? 3;
  const heads = options.heads ?? 4;
  const kvHeads = options.kvHeads ?? 2;
  const headDim = options.headDim ?? (family === 'qwen3' ? 32 : hidden / heads);
  const inter = options.intermediate ?? 96;
  const vocab = options.vocab ?? 256;
  const tied = options.tied ?? family === 'qwen2';
  const dtype = options.dtype ?? 'BF16';
  const specs: TensorSpec[] = [];
  const add = (name: string, shape: number[], scale: number, around = 0) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const planted = options.values?.[name];
    if (planted) specs.push({ name, shape, dtype, values: planted });
    else if (around !== 0) {
      // Norm weights near 1, deterministic per name.
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = around + scale * Math.sin(i * 1.7 + name.length);
      specs.push({ name, shape, dtype, values });
    } else specs.push({ name, shape, dtype, scale });
  };
  const lin = 1 / Math.sqrt(hidden);
  add('model.embed_tokens.weight', [vocab, hidden], 1);
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    add(`${p}.input_layernorm.weight`, [hidden], 0.2, 1);
    add(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden], 2 * lin);
    add(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden], 2 * lin);
    add(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden], 2 * lin);
    if (family === 'qwen2') {
      add(`${p}.self_attn.q_proj.bias`, [heads * headDim], 0.2);
      add(`${p}.self_attn.k_proj.bias`, [kvHeads * headDim], 0.2);
      add(`${p}.self_attn.v_proj.bias`, [kvHeads * headDim], 0.2);
    }
    if (family === 'qwen3') {
      add(`${p}.self_attn.q_norm.weight`, [headDim], 0.2, 1);
      add(`${p}.self_attn.k_norm.weight`, [headDim], 0.2, 1);
    }
    add(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim], 2 * lin);
    add(`${p}.post_attention_layernorm.weight`, [hidden], 0.2, 1);
    add(`${p}.mlp.gate_proj.weight`, [inter, hidden], 2 * lin);
    add(`${p}.mlp.up_proj.weight`, [inter, hidden], 2 * lin);
    add(`${p}.mlp.down_proj.weight`, [hidden, inter], 2 / Math.sqrt(inter));
  }
  add('model.norm.weight', [hidden], 0.2, 1);
  if (!tied) add('lm_head.weight', [vocab, hidden], 2 * lin);
  await writeSafetensors(dir, specs, options.seed ?? 7, options.maxShardBytes ? { maxShardBytes: options.maxShardBytes } : {});
  const architectures = { qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM', llama: 'LlamaForCausalLM' }[family];
  const config: Record<string, unknown> = {
    architectures: [architectures],
    model_type: family,
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    intermediate_size: inter,
    vocab_size: vocab,
    rms_norm_eps: 1e-6,
    rope_theta: family === 'llama' ? 500000 : 1000000,
    max_position_embeddings: 4096,
    tie_word_embeddings: tied,
    hidden_act: 'silu',
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : dtype === 'F16' ? 'float16' : 'float32',
  };
  if (family === 'qwen3') config.head_dim = headDim;
  if (family === 'llama') {
    config.rope_scaling = { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
    config.attention_bias = false;
  }
  Object.assign(config, options.config);
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}
