/**
 * Builds the LiteRT-LM signatures of a decoder-only model: one `prefill_<T>`
 * per prefill length and `decode` (T = 1), each a subgraph over the same
 * weight buffers. Names, dtypes and shapes follow what LiteRT-LM's CPU
 * executor reads (../shared/design/LITERT_CONTRACT.md §1, docs/conversion.md):
 *   inputs  tokens int32 [1,T], input_pos int32 [T], mask f32 [1,1,T,S],
 *           kv_cache_k_<i>, kv_cache_v_<i> f32 (BTNH [1,S,G,H], or transposed
 *           K [1,G,S,H] / V [1,G,H,S]);
 *   outputs the updated caches under the input names; decode also `logits` f32 [1,1,V].
 * Prefill stops after the last layer's KV write: its logits are never read.
 * What happens between the embedding and the lm_head is the family module's
 * block (families/); this file is the part every family shares.
 */
import type { ModelGraph, SubgraphBuilder } from '../tfliteWriter/graph.js';
import type { DecoderConfig } from './config.js';
import { familyModule } from './families/index.js';
import type { FamilyModel } from './families/family.js';
import type { WeightUse } from './layers.js';
import type { WeightEncoding } from './quantize.js';
import { DecoderSignature, type KvLayout } from './signature.js';
import type { WeightTable } from './weights.js';

export { kvCacheShapes, type KvLayout } from './signature.js';
export type NativeQuantization = 'none' | 'fp16' | 'dynamic_int8' | 'weight_only_int8' | 'dynamic_int4_block32' | 'dynamic_int4_block128';

export interface DecoderGraphOptions {
  kvCacheMaxLen: number;
  prefillSeqLens: number[];
  kvLayout: KvLayout;
  quantize: NativeQuantization;
}

const SCHEME: Record<NativeQuantization, { encoding: WeightEncoding; use: WeightUse }> = {
  none: { encoding: 'float32', use: 'float' },
  fp16: { encoding: 'float16', use: 'dequantize' },
  dynamic_int8: { encoding: 'int8', use: 'hybrid' },
  weight_only_int8: { encoding: 'int8', use: 'dequantize' },
  // Block size: WeightTable's (blockwise.ts int4BlockSizeOf).
  dynamic_int4_block32: { encoding: 'int4', use: 'hybrid' },
  dynamic_int4_block128: { encoding: 'int4', use: 'hybrid' },
};

export function buildDecoderGraph(graph: ModelGraph, config: DecoderConfig, weights: WeightTable, options: DecoderGraphOptions): string[] {
  const scheme = SCHEME[options.quantize];
  const model = familyModule(config).model(config, weights, scheme.encoding);
  const lengths = [...new Set(options.prefillSeqLens)].sort((a, b) => a - b);
  const names: string[] = [];
  for (const t of lengths) {
    names.push(`prefill_${t}`);
    buildSignature(graph.subgraph(`prefill_${t}`), config, options, scheme.use, model, t, false);
  }
  names.push('decode');
  buildSignature(graph.subgraph('decode'), config, options, scheme.use, model, 1, true);
  return names;
}

function buildSignature(g: SubgraphBuilder, config: DecoderConfig, options: DecoderGraphOptions, use: WeightUse, model: FamilyModel, t: number, withLogits: boolean): void {
  const s = new DecoderSignature(g, config, use, t, options.kvCacheMaxLen, options.kvLayout, withLogits);
  const L = s.L;
  const d = config.hiddenSize;

  // Embedding: an int8 or int4 table is looked up row by row (dequantizing only those rows).
  const ids = L.reshape(s.tokens, [t], 'token_ids');
  let x =
    model.embed.type === 'int8' || model.embed.type === 'int4'
      ? g.op({ kind: 'EMBEDDING_LOOKUP' }, [ids, L.weightTensor(model.embed)], { name: 'embedding', shape: [t, d] })
      : g.op({ kind: 'GATHER', axis: 0 }, [L.floatWeight(model.embed), ids], { name: 'embedding', shape: [t, d] });
  if (model.embedScale !== null) x = L.binary('MUL', x, g.float32([model.embedScale], [1], 'embed_scale'), 'embedding_scaled');

  s.preparePositions();
  for (let i = 0; i < config.layers; i++) {
    const next = model.block(s, i, x);
    if (next === null) break;
    x = next;
  }

  if (withLogits) {
    const normed = model.finalNorm(s, x);
    const logits = L.linear(normed, model.lmHead, null, 'lm_head');
    g.output('logits', L.reshape(logits, [1, t, config.vocabSize], 'logits'));
  }
  // Outputs in a stable order: logits first (decode), then the caches by layer.
  g.outputs.sort((a, b) => (a.name === 'logits' ? -1 : b.name === 'logits' ? 1 : 0));
}
