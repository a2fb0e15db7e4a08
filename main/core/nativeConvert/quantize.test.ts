import { describe, expect, test } from 'vitest';
import { encodeFromF32 } from '../safetensors/dtypes.js';
import { WorkbenchError } from '../../common/errors.js';
import { checkFinite, quantizeBf16RowsInt8, quantizeRowsInt8 } from './quantize.js';

function bf16(values: number[]): { halves: Uint16Array; f32: Float32Array } {
  const bytes = new Uint8Array(values.length * 2);
  encodeFromF32('BF16', Float32Array.from(values), bytes);
  const halves = new Uint16Array(bytes.buffer);
  const f32 = new Float32Array(new Uint32Array(Array.from(halves, (h) => h << 16)).buffer);
  return { halves, f32 };
}

describe('int8 per-row quantization', () => {
  test('scale is max|row| / 127 and values round half to even, as torch does', () => {
    const values = Float32Array.from([1.27, -0.635, 0.005, 0.015, 0]);
    const out = new Int8Array(5);
    const scales = new Float32Array(1);
    quantizeRowsInt8(values, 5, out, scales, 0);
    expect(scales[0]).toBe(Math.fround(Math.fround(1.27) / 127));
    // 0.005 / 0.01 ≈ 0.5 → 0 (even) or 1 depending on float rounding: compare with the float32 quotient's rint.
    const expected = Array.from(values, (v) => {
      const x = Math.fround(v / scales[0]!);
      const r = Math.round(x);
      return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
    });
    expect(Array.from(out)).toEqual(expected);
    expect(out[0]).toBe(127);
  });

  test('an all-zero row gets scale 1 and zeros, never a zero scale', () => {
    const out = new Int8Array(6);
    const scales = new Float32Array(2);
    quantizeRowsInt8(Float32Array.from([0, 0, 0, 0.5, -1, 0.25]), 3, out, scales, 0);
    expect(Array.from(scales)).toEqual([1, Math.fround(1 / 127)]);
    expect(Array.from(out.subarray(0, 3))).toEqual([0, 0, 0]);
  });

  test('the fused BF16 kernel gives exactly the decode-then-quantize result', () => {
    const random = Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i * 12.9898) * (i % 7 === 0 ? 3 : 0.05));
    random.fill(0, 64, 128); // a zero row
    const { halves, f32 } = bf16(random);
    const a = new Int8Array(halves.length);
    const b = new Int8Array(halves.length);
    const sa = new Float32Array(4);
    const sb = new Float32Array(4);
    quantizeRowsInt8(f32, 64, a, sa, 0);
    quantizeBf16RowsInt8(halves, 64, b, sb, 0, 't', 0);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(sb)).toEqual(Array.from(sa));
  });

  test('NaN or Inf in a weight is an error naming the tensor and row, in both kernels', () => {
    const values = [0.1, 0.2, 0.3, 0.4, Number.NaN, 0.6];
    expect(() => checkFinite(Float32Array.from(values), 'model.layers.0.mlp.up_proj.weight', 10, 3)).toThrow(/model\.layers\.0\.mlp\.up_proj\.weight holds NaN \(row 11, column 1\)/);
    const { halves } = bf16([0.1, Number.POSITIVE_INFINITY, 0.3, 0.4]);
    try {
      quantizeBf16RowsInt8(halves, 2, new Int8Array(4), new Float32Array(2), 0, 'lm_head.weight', 0);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(WorkbenchError);
      expect((error as WorkbenchError).code).toBe('bad_weights');
      expect((error as Error).message).toMatch(/lm_head\.weight holds an infinite value \(row 0, column 1\)/);
    }
  });
});
