import { describe, expect, test } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { blockScaleBits, checkBlockable, int4BlockSizeOf, quantizeBf16RowsInt4Blockwise, quantizeRowsInt4Blockwise } from './blockwise.js';
import { encodeFromF32, f16ToF32 } from '../safetensors/dtypes.js';

/**
 * Independent rounding, in float64: keep `bits` significant bits of x > 0,
 * ties to even, never below `quantum` (a subnormal range's spacing).
 */
function roundSignificant(x: number, bits: number, quantum: number): number {
  const exponent = Math.floor(Math.log2(x));
  const ulp = Math.max(2 ** (exponent - (bits - 1)), quantum);
  const scaled = x / ulp;
  const floor = Math.floor(scaled);
  const rest = scaled - floor;
  const rounded = rest > 0.5 || (rest === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  return rounded * ulp;
}
/** The quantizer's scale: float32(bound / 7) → bfloat16 (8 significant bits) → float16 (11 bits, subnormals below 2^-14). */
function expectedScale(bound: number): number {
  const scale32 = Math.fround(Math.max(bound, Math.fround(1e-9)) / 7);
  const bf16 = roundSignificant(scale32, 8, 2 ** -133);
  const f16 = roundSignificant(bf16, 11, 2 ** -24);
  return f16 === 0 ? 2 ** -24 : f16;
}
function unpack(bytes: Uint8Array): number[] {
  return Array.from(bytes).flatMap((b) => [(b & 0x0f) >= 8 ? (b & 0x0f) - 16 : b & 0x0f, (b >> 4) >= 8 ? (b >> 4) - 16 : b >> 4]);
}
function quantize(values: number[], blockSize: number, rowLength = values.length) {
  const out = new Uint8Array(values.length / 2);
  const scales = new Uint16Array(values.length / blockSize);
  quantizeRowsInt4Blockwise(Float32Array.from(values), rowLength, blockSize, out, scales, 0, 'model.layers.0.mlp.up_proj.weight', 0);
  return { q: unpack(out), scales: Array.from(scales, f16ToF32), bytes: out };
}

describe('blockwise int4 quantization (ai-edge-quantizer dynamic_wi4_afp32_blockwise)', () => {
  test('scales are float32(bound / 7) rounded to bfloat16 then float16, as the quantizer stores them', () => {
    const bounds = [
      7 * (1 + 2 ** -8), // a bfloat16 tie: rounds to even (1.0)
      7 * (1 + 2 ** -8 + 2 ** -12), // bfloat16 rounds up to 1 + 2^-7, where a direct float16 cast would keep 1 + 2^-8
      0.0123,
      1.7e-5, // scale in float16's subnormal range
      3e-7, // scale rounds to a few subnormal quanta
      0.83,
      250,
    ];
    for (const bound of bounds) expect(f16ToF32(blockScaleBits(Math.fround(bound))), `bound ${bound}`).toBe(expectedScale(Math.fround(bound)));
    expect(f16ToF32(blockScaleBits(Math.fround(7 * (1 + 2 ** -8))))).toBe(1);
    expect(f16ToF32(blockScaleBits(Math.fround(7 * (1 + 2 ** -8 + 2 ** -12))))).toBe(1 + 2 ** -7);
  });

  test('q = rint(w / scale): ties go to the even integer', () => {
    // One block of 32 with bound 7 → scale exactly 1.
    const values = [7, 2.5, 3.5, -2.5, -3.5, 0.5, 1.5, -0.5, 6.5, -6.5, ...new Array(22).fill(0)];
    const { q, scales } = quantize(values, 32);
    expect(scales).toEqual([1]);
    expect(q.slice(0, 10)).toEqual([7, 2, 4, -2, -4, 0, 2, 0, 6, -6]);
  });

  test('values past the rounded scale clip at −8 and 7', () => {
    // bound 7·1.4·2^-24: the scale rounds down to 2^-24 in float16, so |w| / scale reaches 9.8.
    const tiny = Math.fround(7 * 1.4 * 2 ** -24);
    const values = [tiny, -tiny, tiny / 2, -tiny / 2, ...new Array(28).fill(0)];
    const { q, scales } = quantize(values, 32);
    expect(scales).toEqual([2 ** -24]);
    expect(q.slice(0, 4)).toEqual([7, -8, 5, -5]);
  });

  test('each block of each row has its own scale; pairs pack low nibble first', () => {
    const row = (k: number) => Array.from({ length: 64 }, (_, i) => Math.fround(Math.sin(i * 0.7 + k) * (i < 32 ? 0.02 : 3)));
    const values = [...row(1), ...row(2)];
    const { q, scales, bytes } = quantize(values, 32, 64);
    expect(scales).toHaveLength(4);
    for (let block = 0; block < 4; block++) {
      const slice = values.slice(block * 32, block * 32 + 32);
      const scale = expectedScale(Math.max(...slice.map(Math.abs)));
      expect(scales[block]).toBe(scale);
      slice.forEach((v, i) => {
        const x = Math.fround(v / scale);
        const r = Math.round(x);
        const even = r - x === 0.5 && r % 2 !== 0 ? r - 1 : r; // Math.round sends .5 up: bring ties to even
        expect(q[block * 32 + i]).toBe(Math.min(7, Math.max(-8, even)) + 0);
      });
    }
    // Nibble order, spelt out: byte k = (q[2k] & 0xF) | (q[2k+1] << 4).
    const { bytes: packed } = quantize([1, -1, 7, -7, ...new Array(28).fill(0)], 32);
    expect(packed[0]).toBe(0xf1);
    expect(packed[1]).toBe(0x97);
    expect(bytes).toHaveLength(64);
  });

  test('an all-zero block gets scale 2^-24, not 0 (XNNPACK refuses zero scales), and zeros', () => {
    const { q, scales } = quantize(new Array(32).fill(0), 32);
    expect(scales).toEqual([2 ** -24]);
    expect(q.every((v) => v === 0)).toBe(true);
  });

  test('the fused BF16 kernel gives exactly the decode-then-quantize result; a NaN names its row', () => {
    const values = Float32Array.from({ length: 3 * 128 }, (_, i) => Math.sin(i * 12.9898) * (i % 7 === 0 ? 3 : 0.05));
    values.fill(0, 128, 160); // a zero block
    const bytes = new Uint8Array(values.length * 2);
    encodeFromF32('BF16', values, bytes);
    const halves = new Uint16Array(bytes.buffer);
    const decoded = Float32Array.from(halves, (h) => new Float32Array(new Uint32Array([h << 16]).buffer)[0]!);
    for (const block of [32, 128]) {
      const a = { out: new Uint8Array(192), scales: new Uint16Array(384 / block) };
      const b = { out: new Uint8Array(192), scales: new Uint16Array(384 / block) };
      quantizeRowsInt4Blockwise(decoded, 128, block, a.out, a.scales, 0, 't', 0);
      quantizeBf16RowsInt4Blockwise(halves, 128, block, b.out, b.scales, 0, 't', 0);
      expect(Array.from(b.out)).toEqual(Array.from(a.out));
      expect(Array.from(b.scales)).toEqual(Array.from(a.scales));
    }
    halves[128 + 70] = 0x7fc0; // NaN in row 1 (of a chunk starting at tensor row 40), column 70
    expect(() => quantizeBf16RowsInt4Blockwise(halves, 128, 32, new Uint8Array(192), new Uint16Array(12), 0, 'lm_head.weight', 40)).toThrow(/lm_head\.weight holds NaN \(row 41, column 70\)/);
  });

  test('a row length that is not a multiple of the block size is refused in one sentence naming the tensor', () => {
    expect(() => checkBlockable('model.layers.0.mlp.down_proj.weight', 96, 128)).toThrow(WorkbenchError);
    expect(() => checkBlockable('model.layers.0.mlp.down_proj.weight', 96, 128)).toThrow(
      /^model\.layers\.0\.mlp\.down_proj\.weight has 96 input columns, not a multiple of the int4 block size 128, .*choose dynamic_int4_block32 or dynamic_int8\.$/,
    );
    expect(() => checkBlockable('lm_head.weight', 64, 32)).not.toThrow();
    expect(int4BlockSizeOf('dynamic_int4_block128')).toBe(128);
    expect(int4BlockSizeOf('dynamic_int8')).toBeUndefined();
  });
});
