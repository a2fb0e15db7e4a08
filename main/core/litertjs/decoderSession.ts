/**
 * Drives a LiteRT-LM-style .tflite the way LiteRT-LM's CPU executor does,
 * through LiteRT.js: prefill signatures fill the KV cache with all prompt
 * tokens but the last (in chunks of the available prefill lengths, padded
 * rows being token 0 at position 0), then `decode` feeds one token at a time
 * at input_pos = step and returns its logits. The caches are threaded from
 * each call's outputs (same names as the inputs) to the next call's inputs.
 * Used to verify conversions and for teacher-forced comparisons.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { FeedValue, TfliteModelRunner } from './litertjs.js';

/** What LiteRT-LM writes for a masked position (f32): finite, so fully masked rows give no NaN. */
export const MASKED = -0.7 * 3.4028234663852886e38;

interface CacheSpec {
  name: string;
  shape: number[];
}

export class DecoderSession {
  private position = 0;
  private readonly caches = new Map<string, Float32Array>();

  private constructor(
    private readonly runner: TfliteModelRunner,
    readonly prefillLengths: number[],
    readonly contextLength: number,
    private readonly cacheSpecs: CacheSpec[],
  ) {
    this.reset();
  }

  static create(runner: TfliteModelRunner): DecoderSession {
    const names = runner.signatureNames;
    if (!names.includes('decode')) throw new WorkbenchError('no_decode_signature', `The model has no "decode" signature (it has ${names.join(', ')}).`);
    const prefillLengths = names
      .filter((n) => n.startsWith('prefill'))
      .map((n) => {
        const pos = runner.inputDetails(n).find((d) => d.name === 'input_pos');
        return Number(pos?.shape[pos.shape.length - 1] ?? 0);
      })
      .filter((t) => t > 0)
      .sort((a, b) => a - b);
    const decodeInputs = runner.inputDetails('decode');
    const mask = decodeInputs.find((d) => d.name === 'mask');
    if (!mask) throw new WorkbenchError('no_mask_input', 'The decode signature has no "mask" input; this runner builds the causal mask the way LiteRT-LM does and needs it.');
    const cacheSpecs = decodeInputs.filter((d) => d.name.startsWith('kv_cache_')).map((d) => ({ name: d.name, shape: Array.from(d.shape, Number) }));
    return new DecoderSession(runner, prefillLengths, Number(mask.shape[3]), cacheSpecs);
  }

  get step(): number {
    return this.position;
  }

  reset(): void {
    this.position = 0;
    for (const spec of this.cacheSpecs) this.caches.set(spec.name, new Float32Array(spec.shape.reduce((a, b) => a * b, 1)));
  }

  /** Fills the cache with `tokens` (all prompt tokens but the last). */
  async prefill(tokens: number[]): Promise<void> {
    let done = 0;
    while (done < tokens.length) {
      const remaining = tokens.length - done;
      if (this.prefillLengths.length === 0) {
        // No prefill signature: feed through decode.
        await this.decode(tokens[done]!);
        done++;
        continue;
      }
      // A signature's KV write covers all its T rows (padding included): it must fit the context,
      // or DYNAMIC_UPDATE_SLICE would clamp the write position and misplace every row.
      const usable = this.prefillLengths.filter((t) => this.position + t <= this.contextLength);
      if (usable.length === 0) {
        await this.decode(tokens[done]!);
        done++;
        continue;
      }
      const t = usable.find((len) => len >= remaining) ?? usable[usable.length - 1]!;
      const n = Math.min(t, remaining);
      await this.call(`prefill_${t}`, tokens.slice(done, done + n), t);
      done += n;
    }
  }

  /** Feeds one token at the current position and returns its logits. */
  async decode(token: number): Promise<Float32Array> {
    const out = await this.call('decode', [token], 1);
    const logits = out.logits;
    if (!(logits instanceof Float32Array)) throw new WorkbenchError('no_logits', 'The decode signature returned no float "logits" output.');
    return logits;
  }

  private async call(signature: string, tokens: number[], t: number): Promise<Record<string, Float32Array | Int32Array>> {
    const start = this.position;
    if (start + tokens.length > this.contextLength) {
      throw new WorkbenchError('context_full', `The context (${this.contextLength} tokens) is full at position ${start}.`);
    }
    const ids = new Int32Array(t);
    const positions = new Int32Array(t);
    const mask = new Float32Array(t * this.contextLength).fill(MASKED);
    for (let r = 0; r < t; r++) {
      const real = r < tokens.length;
      ids[r] = real ? tokens[r]! : 0;
      positions[r] = real ? start + r : 0;
      const visible = real ? start + r : 0;
      for (let c = 0; c <= visible; c++) mask[r * this.contextLength + c] = 0;
    }
    const feeds: Record<string, FeedValue> = {
      tokens: { type: 'int32', data: ids, shape: [1, t] },
      input_pos: { type: 'int32', data: positions, shape: [t] },
      mask: { type: 'float32', data: mask, shape: [1, 1, t, this.contextLength] },
    };
    for (const spec of this.cacheSpecs) feeds[spec.name] = { type: 'float32', data: this.caches.get(spec.name)!, shape: spec.shape };
    const out = await this.runner.run(signature, feeds);
    for (const spec of this.cacheSpecs) {
      const updated = out[spec.name];
      if (updated instanceof Float32Array) this.caches.set(spec.name, updated);
    }
    this.position = start + tokens.length;
    return out;
  }
}
