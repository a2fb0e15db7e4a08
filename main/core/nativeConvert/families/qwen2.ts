/**
 * Qwen2 / Qwen2.5 (`Qwen2ForCausalLM`): the Llama layout with a bias on the
 * q, k and v projections (never on o_proj), usually a tied lm_head.
 */
import { configureLlamaLayout, llamaLayoutModel, type LlamaLayoutOptions } from './llamaLayout.js';
import type { DecoderFamily } from './family.js';

const OPTIONS: LlamaLayoutOptions = { qkvBiasAlways: true, oBiasFollowsAttentionBias: false, qkNorm: false, tiedByDefault: false };

export const qwen2: DecoderFamily = {
  name: 'qwen2',
  architectures: ['Qwen2ForCausalLM'],
  configure: (raw, architecture) => configureLlamaLayout(raw, architecture, qwen2, OPTIONS),
  model: (config, weights, encoding) => llamaLayoutModel(config, weights, encoding, OPTIONS),
};
