/**
 * Grouped-query attention over the static KV cache, shared by every family:
 * k/v projections, optional per-head norm (Qwen3, Gemma 3), RoPE from the
 * layer's table, one contiguous DYNAMIC_UPDATE_SLICE per cache at
 * input_pos[0] (output under the input's name), then — unless the signature
 * only needs the KV write — queries, scores × scale, the layer's mask (plain
 * causal or sliding window), softmax, context and the output projection.
 * Query heads are grouped per KV head (head j serves queries j·rep …
 * j·rep+rep−1), so K/V are never repeated.
 */
import type { LayerAttention } from './config.js';
import type { DecoderSignature } from './signature.js';
import type { RegisteredWeight } from './weights.js';

export interface AttentionWeights {
  q: RegisteredWeight;
  k: RegisteredWeight;
  v: RegisteredWeight;
  o: RegisteredWeight;
  qBias: RegisteredWeight | null;
  kBias: RegisteredWeight | null;
  vBias: RegisteredWeight | null;
  oBias: RegisteredWeight | null;
  qNorm: RegisteredWeight | null;
  kNorm: RegisteredWeight | null;
}

/** A family's norm applied per head to q and k (x [T, heads, D]). */
export type HeadNorm = (x: number, weight: RegisteredWeight, label: string) => number;

/** Returns the attention output [T, hidden] (after o_proj), or null when layer i only writes its KV. */
export function attention(s: DecoderSignature, i: number, hn: number, w: AttentionWeights, layer: LayerAttention, headNorm: HeadNorm): number | null {
  const { g, L, t, config } = s;
  const { heads: n, kvHeads: kvh, headDim: h } = config;
  const size = s.s;
  const rep = n / kvh;
  const transposed = s.transposed;
  const { cos, sin } = s.rope(layer.rope);

  let k = L.reshape(L.linear(hn, w.k, w.kBias, `l${i}_k`), [t, kvh, h], `l${i}_k_heads`);
  const v = L.reshape(L.linear(hn, w.v, w.vBias, `l${i}_v`), [t, kvh, h], `l${i}_v_heads`);
  if (w.kNorm) k = headNorm(k, w.kNorm, `l${i}_k_norm`);
  k = L.rope(k, cos, sin, `l${i}_k_rope`);

  // KV write: one contiguous DYNAMIC_UPDATE_SLICE per cache at input_pos[0].
  const start = s.kvWriteStart;
  const kNew = transposed ? L.reshape(L.transpose(k, [1, 0, 2]), [1, kvh, t, h]) : L.reshape(k, [1, t, kvh, h]);
  const vNew = transposed ? L.reshape(L.transpose(v, [1, 2, 0]), [1, kvh, h, t]) : L.reshape(v, [1, t, kvh, h]);
  const kCache = g.op({ kind: 'DYNAMIC_UPDATE_SLICE' }, [s.caches[i]!.k, kNew, start.k], { name: `kv_cache_k_${i}_updated`, shape: s.cacheShapes.k });
  const vCache = g.op({ kind: 'DYNAMIC_UPDATE_SLICE' }, [s.caches[i]!.v, vNew, start.v], { name: `kv_cache_v_${i}_updated`, shape: s.cacheShapes.v });
  g.output(`kv_cache_k_${i}`, kCache);
  g.output(`kv_cache_v_${i}`, vCache);
  if (s.kvOnly(i)) return null;

  let q = L.reshape(L.linear(hn, w.q, w.qBias, `l${i}_q`), [t, n, h], `l${i}_q_heads`);
  if (w.qNorm) q = headNorm(q, w.qNorm, `l${i}_q_norm`);
  q = L.rope(q, cos, sin, `l${i}_q_rope`);
  const qGrouped = L.binary('MUL', L.reshape(L.transpose(q, [1, 0, 2]), [kvh, rep * t, h]), s.attentionScale, `l${i}_q_scaled`);
  const keys = transposed ? L.reshape(kCache, [kvh, size, h]) : L.transpose(L.reshape(kCache, [size, kvh, h]), [1, 0, 2], `l${i}_keys`);
  const values = transposed ? L.reshape(vCache, [kvh, h, size]) : L.transpose(L.reshape(vCache, [size, kvh, h]), [1, 0, 2], `l${i}_values`);
  const scores = g.op({ kind: 'BATCH_MATMUL', adjX: false, adjY: true, asymmetricQuantizeInputs: false }, [qGrouped, keys], {
    name: L.name(`l${i}_scores`),
    shape: [kvh, rep * t, size],
  });
  const masked = L.binary('ADD', L.reshape(scores, [kvh, rep, t, size]), s.layerMask(layer.window), `l${i}_masked`);
  const probs = g.op({ kind: 'SOFTMAX', beta: 1 }, [masked], { name: L.name(`l${i}_probs`), shape: [kvh, rep, t, size] });
  const context = g.op({ kind: 'BATCH_MATMUL', adjX: false, adjY: transposed, asymmetricQuantizeInputs: false }, [L.reshape(probs, [kvh, rep * t, size]), values], {
    name: L.name(`l${i}_context`),
    shape: [kvh, rep * t, h],
  });
  const merged = L.reshape(L.transpose(L.reshape(context, [n, t, h]), [1, 0, 2]), [t, n * h], `l${i}_context_merged`);
  return L.linear(merged, w.o, w.oBias, `l${i}_o`);
}
