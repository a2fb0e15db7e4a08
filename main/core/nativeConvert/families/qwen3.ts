/**
 * Qwen3 (`Qwen3ForCausalLM`): the Llama layout with a per-head RMSNorm on q
 * and k before RoPE (`q_norm`, `k_norm`) and an explicit `head_dim`.
 */
import { configureLlamaLayout, llamaLayoutModel, type LlamaLayoutOptions } from './llamaLayout.js';
import type { DecoderFamily } from './family.js';

const OPTIONS: LlamaLayoutOptions = { qkvBiasAlways: false, oBiasFollowsAttentionBias: true, qkNorm: true, tiedByDefault: false };

export const qwen3: DecoderFamily = {
  name: 'qwen3',
  architectures: ['Qwen3ForCausalLM'],
  configure: (raw, architecture) => configureLlamaLayout(raw, architecture, qwen3, OPTIONS),
  model: (config, weights, encoding) => llamaLayoutModel(config, weights, encoding, OPTIONS),
};
