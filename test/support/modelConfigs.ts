/**
 * Parsed config.json (HfModelConfig) of real models, for tests of the
 * estimator, the calibration and the memory suggestions. Sizes from the
 * model's published config.json.
 */
import type { HfModelConfig } from '../../main/common/formats.js';

export const QWEN25_1_5B_CONFIG: HfModelConfig = {
  architectures: ['Qwen2ForCausalLM'],
  modelType: 'qwen2',
  hiddenSize: 1536,
  numHiddenLayers: 28,
  numAttentionHeads: 12,
  numKeyValueHeads: 2,
  headDim: null,
  intermediateSize: 8960,
  vocabSize: 151936,
  maxPositionEmbeddings: 32768,
  torchDtype: 'bfloat16',
  tieWordEmbeddings: true,
  bosTokenId: null,
  eosTokenIds: [151645],
  fromTextConfig: false,
};
