/**
 * What every decoder block of one signature (prefill_<T> or decode) shares:
 * the LiteRT-LM inputs (tokens, input_pos, mask, per-layer KV caches), the
 * RoPE rows of this signature's positions for each table the layers use, the
 * KV write offsets at input_pos[0], the attention scale, and one mask per
 * sliding window. LiteRT-LM passes a plain causal mask, so a window is added
 * inside the graph from input_pos: a query at position p sees cache slot j
 * only when p − j < window (the last `window` positions, itself included, as
 * transformers' sliding_window_overlay `kv_idx > q_idx − sliding_window`);
 * slots outside get the runtime's own masked value, combined with MINIMUM
 * (as litert-torch's Gemma 3 decoder does) so nothing overflows.
 */
import type { SubgraphBuilder } from '../tfliteWriter/graph.js';
import type { DecoderConfig, RopeSpec } from './config.js';
import { Layers, type WeightUse } from './layers.js';
import { ropeTables } from './rope.js';

export type KvLayout = 'btnh' | 'transposed';

/** The value LiteRT-LM writes into masked mask entries (f32): −0.7 · FLT_MAX. */
export const MASKED_VALUE = -0.7 * 3.4028234663852886e38;

/** Shapes of one layer's K and V cache inputs. */
export function kvCacheShapes(config: Pick<DecoderConfig, 'kvHeads' | 'headDim'>, kvCacheMaxLen: number, layout: KvLayout): { k: number[]; v: number[] } {
  const { kvHeads: g, headDim: h } = config;
  return layout === 'btnh'
    ? { k: [1, kvCacheMaxLen, g, h], v: [1, kvCacheMaxLen, g, h] }
    : { k: [1, g, kvCacheMaxLen, h], v: [1, g, h, kvCacheMaxLen] };
}

export class DecoderSignature {
  readonly L: Layers;
  readonly tokens: number;
  readonly inputPos: number;
  readonly mask: number;
  readonly caches: { k: number; v: number }[];
  readonly cacheShapes: { k: number[]; v: number[] };
  readonly transposed: boolean;
  private readonly ropeRows = new Map<RopeSpec, { cos: number; sin: number }>();
  private readonly windowMasks = new Map<number, number>();
  private writeStart: { k: number; v: number } | null = null;
  private scaleTensor = -1;

  constructor(
    readonly g: SubgraphBuilder,
    readonly config: DecoderConfig,
    use: WeightUse,
    /** This signature's token count T. */
    readonly t: number,
    /** The KV cache length S. */
    readonly s: number,
    layout: KvLayout,
    /** True for decode: every layer runs to the logits; prefill stops after the last KV write. */
    readonly withLogits: boolean,
  ) {
    this.L = new Layers(g, use);
    this.transposed = layout === 'transposed';
    this.tokens = g.input('tokens', 'int32', [1, t]);
    this.inputPos = g.input('input_pos', 'int32', [t]);
    this.mask = g.input('mask', 'float32', [1, 1, t, s]);
    this.cacheShapes = kvCacheShapes(config, s, layout);
    this.caches = Array.from({ length: config.layers }, (_, i) => ({
      k: g.input(`kv_cache_k_${i}`, 'float32', this.cacheShapes.k),
      v: g.input(`kv_cache_v_${i}`, 'float32', this.cacheShapes.v),
    }));
  }

  /** RoPE rows, KV write offsets, attention scale and window masks: once per signature, after the embedding. */
  preparePositions(): void {
    const { g, L, t, s, config } = this;
    const h = config.headDim;
    for (const layer of config.attention) {
      const spec = layer.rope;
      if (this.ropeRows.has(spec)) continue;
      const suffix = spec.key ? `_${spec.key}` : '';
      const tables = ropeTables(h, spec, s);
      const cosTable = g.float32(tables.cos, [s, h], `rope_cos_${s}x${h}${suffix}`);
      const sinTable = g.float32(tables.sin, [s, h], `rope_sin_${s}x${h}${suffix}`);
      const cos = L.reshape(g.op({ kind: 'GATHER', axis: 0 }, [cosTable, this.inputPos], { name: `rope_cos${suffix}`, shape: [t, h] }), [t, 1, h], `rope_cos_b${suffix}`);
      const sin = L.reshape(g.op({ kind: 'GATHER', axis: 0 }, [sinTable, this.inputPos], { name: `rope_sin${suffix}`, shape: [t, h] }), [t, 1, h], `rope_sin_b${suffix}`);
      this.ropeRows.set(spec, { cos, sin });
    }
    const pos0 = g.op({ kind: 'SLICE' }, [this.inputPos, g.int32([0]), g.int32([1])], { name: 'write_pos', type: 'int32', shape: [1] });
    const start = (before: number, after: number) =>
      g.op({ kind: 'CONCATENATION', axis: 0 }, [g.int32(new Array(before).fill(0)), pos0, ...(after > 0 ? [g.int32(new Array(after).fill(0))] : [])], {
        name: L.name('kv_write_start'),
        type: 'int32',
        shape: [4],
      });
    const startK = this.transposed ? start(2, 1) : start(1, 2);
    const startV = this.transposed ? start(3, 0) : startK;
    this.writeStart = { k: startK, v: startV };
    const scalar = config.queryPreAttnScalar;
    this.scaleTensor = g.float32([1 / Math.sqrt(scalar)], [1], `attn_scale_${scalar}`);
    for (const layer of config.attention) {
      if (layer.window !== null && !this.windowMasks.has(layer.window)) this.windowMasks.set(layer.window, this.slidingMask(layer.window));
    }
  }

  rope(spec: RopeSpec): { cos: number; sin: number } {
    const rows = this.ropeRows.get(spec);
    if (!rows) throw new Error(`RoPE table ${spec.key || 'default'} was not prepared`);
    return rows;
  }

  /** The mask a layer adds to its scores: the runtime's causal mask, narrowed to the window when it has one. */
  layerMask(window: number | null): number {
    if (window === null) return this.mask;
    const m = this.windowMasks.get(window);
    if (m === undefined) throw new Error(`window ${window} was not prepared`);
    return m;
  }

  get attentionScale(): number {
    return this.scaleTensor;
  }

  get kvWriteStart(): { k: number; v: number } {
    if (!this.writeStart) throw new Error('preparePositions() must run first');
    return this.writeStart;
  }

  /** True when layer i's KV write is all this signature needs of it (the last layer of a prefill). */
  kvOnly(layer: number): boolean {
    return !this.withLogits && layer === this.config.layers - 1;
  }

  /** mask [1,1,T,S] with slots j where input_pos[q] − j ≥ window set to the masked value. */
  private slidingMask(window: number): number {
    const { g, L, t, s } = this;
    const slotIds = new Uint8Array(Int32Array.from({ length: s }, (_, j) => j).buffer);
    const slots = g.constant(`cache_slots_${s}`, 'int32', [1, s], g.model.inlineBuffer(slotIds));
    const pos = L.reshape(this.inputPos, [t, 1], `window_pos`);
    const distance = g.op({ kind: 'SUB' }, [pos, slots], { name: L.name('window_distance'), type: 'int32', shape: [t, s] });
    const outside = g.op({ kind: 'GREATER_EQUAL' }, [distance, g.int32([window], [1])], { name: L.name(`window_${window}_outside`), type: 'bool', shape: [t, s] });
    const penalty = g.op(
      { kind: 'SELECT_V2' },
      [outside, g.float32([MASKED_VALUE], [1], 'mask_masked_value'), g.float32([0], [1], 'mask_visible_value')],
      { name: L.name(`window_${window}_penalty`), shape: [t, s] },
    );
    return g.op({ kind: 'MINIMUM' }, [this.mask, L.reshape(penalty, [1, 1, t, s], `window_${window}_penalty_b`)], { name: `mask_window_${window}`, shape: [1, 1, t, s] });
  }
}
