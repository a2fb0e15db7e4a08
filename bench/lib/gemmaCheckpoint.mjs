/**
 * A generated Gemma 3 1B-shaped BF16 checkpoint for the convert benchmark
 * (hidden 1152, 26 layers, 4 heads and 1 KV head of 256, intermediate 6912,
 * vocab 262144, sliding_window 512, pattern 6, tied embeddings): the tensor
 * names and shapes of Gemma3ForCausalLM, values from a cyclic pool of small
 * random numbers (norm weights near 0, applied as 1 + w).
 */
import { mkdirSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { randomBf16Pool, writeSafetensors } from './qwenCheckpoint.mjs';

export const GEMMA3_1B = { hidden: 1152, inter: 6912, heads: 4, kvHeads: 1, headDim: 256, vocab: 262144, window: 512, pattern: 6 };

export function writeGemma3Checkpoint(dir, { layers = 26 } = {}) {
  const { hidden, inter, heads, kvHeads, headDim, vocab, window, pattern } = GEMMA3_1B;
  mkdirSync(dir, { recursive: true });
  const t = (name, shape) => ({ name, shape, dtype: 'BF16' });
  const tensors = [t('model.embed_tokens.weight', [vocab, hidden])];
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    tensors.push(
      t(`${p}.input_layernorm.weight`, [hidden]),
      t(`${p}.self_attn.q_proj.weight`, [heads * headDim, hidden]),
      t(`${p}.self_attn.k_proj.weight`, [kvHeads * headDim, hidden]),
      t(`${p}.self_attn.v_proj.weight`, [kvHeads * headDim, hidden]),
      t(`${p}.self_attn.q_norm.weight`, [headDim]),
      t(`${p}.self_attn.k_norm.weight`, [headDim]),
      t(`${p}.self_attn.o_proj.weight`, [hidden, heads * headDim]),
      t(`${p}.post_attention_layernorm.weight`, [hidden]),
      t(`${p}.pre_feedforward_layernorm.weight`, [hidden]),
      t(`${p}.mlp.gate_proj.weight`, [inter, hidden]),
      t(`${p}.mlp.up_proj.weight`, [inter, hidden]),
      t(`${p}.mlp.down_proj.weight`, [hidden, inter]),
      t(`${p}.post_feedforward_layernorm.weight`, [hidden]),
    );
  }
  tensors.push(t('model.norm.weight', [hidden]));
  const pool = new Uint8Array(randomBf16Pool(8 << 20, 0.05, 3).buffer);
  let cursor = 0;
  const bytes = writeSafetensors(path.join(dir, 'model.safetensors'), tensors, (fd, tensor) => {
    let left = tensor.bytes;
    while (left > 0) {
      const n = Math.min(left, pool.length - cursor);
      writeSync(fd, pool, cursor, n);
      cursor = (cursor + n) % pool.length;
      left -= n;
    }
  });
  writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({
      architectures: ['Gemma3ForCausalLM'],
      model_type: 'gemma3_text',
      hidden_size: hidden,
      intermediate_size: inter,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kvHeads,
      head_dim: headDim,
      vocab_size: vocab,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      rope_local_base_freq: 10000,
      rope_scaling: null,
      sliding_window: window,
      sliding_window_pattern: pattern,
      query_pre_attn_scalar: 256,
      hidden_activation: 'gelu_pytorch_tanh',
      final_logit_softcapping: null,
      attn_logit_softcapping: null,
      torch_dtype: 'bfloat16',
      tie_word_embeddings: true,
    }),
  );
  return bytes;
}
