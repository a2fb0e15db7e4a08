/**
 * Rotary position tables: cos and sin of position × inverse frequency for
 * every position the KV cache can hold, in the non-interleaved ("rotate
 * half") layout Hugging Face uses, with the frequency scalings transformers
 * implements for the families built here (Llama 3's `llama3`, Gemma 3's
 * `linear`). A family gives each layer a RopeSpec (its base and scaling);
 * the graph gathers one row per position from that spec's tables.
 */
import type { RopeSpec } from './config.js';

export function inverseFrequencies(headDim: number, spec: Pick<RopeSpec, 'theta' | 'scaling'>): Float64Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(spec.theta, (2 * i) / headDim);
  const s = spec.scaling;
  if (!s) return inv;
  if (s.type === 'linear') {
    // transformers' _compute_linear_scaling_rope_parameters: inv_freq / factor.
    for (let i = 0; i < half; i++) inv[i] = inv[i]! / s.factor;
    return inv;
  }
  // transformers' _compute_llama3_parameters.
  const lowFreqWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < half; i++) {
    const freq = inv[i]!;
    const wavelen = (2 * Math.PI) / freq;
    if (wavelen < highFreqWavelen) continue;
    if (wavelen > lowFreqWavelen) {
      inv[i] = freq / s.factor;
      continue;
    }
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    inv[i] = (1 - smooth) * (freq / s.factor) + smooth * freq;
  }
  return inv;
}

/** [positions, headDim] cos and sin tables, each half repeated (cos(θ), cos(θ)). */
export function ropeTables(headDim: number, spec: Pick<RopeSpec, 'theta' | 'scaling'>, positions: number): { cos: Float32Array; sin: Float32Array } {
  const inv = inverseFrequencies(headDim, spec);
  const half = inv.length;
  const dim = headDim;
  const cos = new Float32Array(positions * dim);
  const sin = new Float32Array(positions * dim);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      // HF computes the angle in float32; so do we, so tables match the reference bit for bit where it matters.
      const angle = Math.fround(Math.fround(p) * Math.fround(inv[i]!));
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * dim + i] = c;
      cos[p * dim + half + i] = c;
      sin[p * dim + i] = s;
      sin[p * dim + half + i] = s;
    }
  }
  return { cos, sin };
}
