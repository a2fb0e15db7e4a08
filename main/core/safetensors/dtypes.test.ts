import { describe, expect, it } from 'vitest';
import { bf16ToF32, decodeToF32, encodeFromF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtypes.js';

describe('BF16', () => {
  it('rounds to nearest even and maps NaN to 0x7FC0 like PyTorch', () => {
    expect(f32ToBf16(1)).toBe(0x3f80);
    // 1 + 2^-8 is exactly half-way between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3·2^-8 is half-way between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up.
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBf16(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16(-0)).toBe(0x8000);
    expect(f32ToBf16(Infinity)).toBe(0x7f80);
    expect(f32ToBf16(NaN)).toBe(0x7fc0);
    expect(f32ToBf16(3.4e38)).toBe(0x7f80); // rounds past the largest finite BF16
  });

  it('round-trips every BF16 value exactly', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = bf16ToF32(bits);
      if (!Number.isNaN(value) && f32ToBf16(value) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });
});

describe('F16', () => {
  it('round-trips every F16 value exactly (normals, subnormals, infinities)', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = f16ToF32(bits);
      // JavaScript NaN carries no sign: every NaN encodes to the canonical quiet NaN.
      const expected = Number.isNaN(value) ? 0x7e00 : bits;
      if ((Number.isNaN(value) ? f32ToF16(value) & 0x7fff : f32ToF16(value)) !== expected) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds to nearest even at normal, subnormal and overflow boundaries', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // tie at the top rounds to infinity
    expect(f32ToF16(2 ** -25)).toBe(0x0000); // half the smallest subnormal: tie → 0
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002); // 1.5 subnormal steps → 2
    expect(f32ToF16(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up into the smallest normal
    expect(f32ToF16(-2.5)).toBe(0xc100);
  });

  it('never picks an F16 farther from the value than a neighbour (random values)', () => {
    let seed = 7;
    let farther = 0;
    for (let i = 0; i < 20000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const value = Math.fround(((seed / 2 ** 32) * 2 - 1) * 2 ** ((seed % 40) - 20));
      const bits = f32ToF16(value);
      const chosen = f16ToF32(bits);
      // The chosen F16 is never farther than either neighbour.
      for (const neighbour of [f16ToF32(bits + 1), f16ToF32(bits - 1)]) {
        if (Number.isFinite(neighbour) && Math.abs(chosen - value) > Math.abs(neighbour - value)) farther += 1;
      }
    }
    expect(farther).toBe(0);
  });
});

describe('bulk conversions', () => {
  it('decode and encode whole tensors in each dtype', () => {
    const values = Float32Array.from([0, 1, -2.5, 0.1, 65504, 1e-6]);
    for (const dtype of ['F32', 'F16', 'BF16'] as const) {
      const bytes = new Uint8Array(values.length * (dtype === 'F32' ? 4 : 2));
      encodeFromF32(dtype, values, bytes);
      const back = new Float32Array(values.length);
      decodeToF32(dtype, bytes, back);
      for (let i = 0; i < values.length; i++) {
        const expected = dtype === 'F32' ? values[i]! : dtype === 'F16' ? f16ToF32(f32ToF16(values[i]!)) : bf16ToF32(f32ToBf16(values[i]!));
        expect(back[i]).toBe(Math.fround(expected));
      }
    }
    expect(() => decodeToF32('F16', new Uint8Array(3), new Float32Array(2))).toThrow(RangeError);
  });
});
