/**
 * Llama 3 (`LlamaForCausalLM`): the Llama layout itself, with `rope_scaling`
 * type llama3 and the optional `attention_bias` / `mlp_bias`.
 */
import { configureLlamaLayout, llamaLayoutModel, type LlamaLayoutOptions } from './llamaLayout.js';
import type { DecoderFamily } from './family.js';

const OPTIONS: LlamaLayoutOptions = { qkvBiasAlways: false, oBiasFollowsAttentionBias: true, qkNorm: false, tiedByDefault: false };

export const llama: DecoderFamily = {
  name: 'llama',
  architectures: ['LlamaForCausalLM'],
  configure: (raw, architecture) => configureLlamaLayout(raw, architecture, llama, OPTIONS),
  model: (config, weights, encoding) => llamaLayoutModel(config, weights, encoding, OPTIONS),
};
