/**
 * Blockwise int4 weights, as ai-edge-quantizer writes its
 * `dynamic_wi4_afp32_blockwise` configuration (litert-torch's
 * `dynamic_int4_block32` / `dynamic_int4_block128`), applied row-chunk by
 * row-chunk while the file is written. From the quantizer's sources
 * (algorithms/uniform_quantize/uniform_quantize_tensor.py,
 * common_quantize.py, transformations/quantize_tensor.py,
 * transformation_utils.pack_data):
 *   - each row (output channel, or one token's embedding) is cut into blocks
 *     of `blockSize` consecutive input columns (FULLY_CONNECTED and
 *     EMBEDDING_LOOKUP quantize dimension 1); a row length that is not a
 *     multiple of the block size is refused (the quantizer raises);
 *   - symmetric: bound = max(|min|, |max|, 1e-9) in float32, scale =
 *     bound / 7 in float32, then rounded to bfloat16 and on to float16 (round
 *     to nearest even both times) — the stored FLOAT16 scale, and the float32
 *     value of it is what the weights are divided by;
 *   - q = clip(rint(w / scale), −8, 7), float32 division, ties to even;
 *   - two values per byte, the even-indexed one in the low nibble
 *     (pack_data; LiteRT's Unpack4Bit reads it the same way).
 * One deliberate departure: a block whose scale rounds to 0 in float16 (all
 * |w| below about 2e-7, e.g. an all-zero padding row) gets the smallest
 * positive float16, 2^-24, instead of 0 — XNNPACK refuses a model with a
 * zero block scale ("scale must be finite, normalized, and positive"), and
 * with 2^-24 the block still dequantizes to within 3e-8 of its weights.
 */
import { WorkbenchError } from '../../common/errors.js';
import { f16ToF32, f32ToBf16, f32ToF16 } from '../safetensors/dtypes.js';
import { bf16Values, checkFinite } from './quantize.js';

export const INT4_BLOCK_SIZES = [32, 128] as const;
export type Int4BlockSize = (typeof INT4_BLOCK_SIZES)[number];

/** float32(1e-9): the quantizer's lower bound on a block's range (avoids a zero scale). */
const MIN_BOUND = Math.fround(1e-9);
/** float16 bits of 2^-24, the smallest positive float16. */
const SMALLEST_F16 = 0x0001;

const bf16Bits = new Uint32Array(1);
const bf16Value = new Float32Array(bf16Bits.buffer);

/** The stored scale of a block whose largest magnitude is `bound` (float32): float16 bits. */
export function blockScaleBits(bound: number): number {
  const scale = Math.fround(Math.max(bound, MIN_BOUND) / 7);
  bf16Bits[0] = f32ToBf16(scale) << 16;
  const bits = f32ToF16(bf16Value[0]!);
  return bits === 0 ? SMALLEST_F16 : bits;
}

/** Round half to even (as numpy.rint), exact for |x| < 2^51. */
const RINT_MAGIC = 6755399441055744;
function rint(x: number): number {
  return x + RINT_MAGIC - RINT_MAGIC;
}

/**
 * Quantizes `values` (whole rows of `rowLength`, a multiple of `blockSize`)
 * into packed int4 `out` (values.length / 2 bytes) and one float16 scale per
 * block into `scales` from index `scaleOffset` (rows × rowLength/blockSize).
 */
export function quantizeRowsInt4Blockwise(
  values: Float32Array,
  rowLength: number,
  blockSize: number,
  out: Uint8Array,
  scales: Uint16Array,
  scaleOffset: number,
  tensor: string,
  firstRow: number,
): void {
  const blocks = values.length / blockSize;
  for (let b = 0; b < blocks; b++) {
    const base = b * blockSize;
    let max = 0;
    for (let i = 0; i < blockSize; i++) {
      const a = Math.abs(values[base + i]!);
      if (a > max) max = a;
    }
    const bits = blockScaleBits(max);
    if (bits === 0x7c00) {
      const row = firstRow + Math.floor(base / rowLength);
      throw new WorkbenchError(
        'bad_weights',
        `${tensor} row ${row} holds a weight of magnitude ${max.toExponential(3)}, beyond what an int4 block's float16 scale can represent (about 458,000); nothing was written.`,
        { tensor, row },
      );
    }
    scales[scaleOffset + b] = bits;
    const scale = f16ToF32(bits);
    // Two values per byte: base is even (block sizes are even), so pairs never straddle blocks.
    for (let i = 0; i < blockSize; i += 2) {
      let lo = rint(Math.fround(values[base + i]! / scale));
      let hi = rint(Math.fround(values[base + i + 1]! / scale));
      lo = lo > 7 ? 7 : lo < -8 ? -8 : lo;
      hi = hi > 7 ? 7 : hi < -8 ? -8 : hi;
      out[(base + i) >> 1] = (lo & 0x0f) | ((hi & 0x0f) << 4);
    }
  }
}

/**
 * The same encoding straight from BF16 bits (the common checkpoint dtype):
 * block maxima and the NaN/Inf check on the integer bits, values from a
 * lookup table, no float32 copy of the chunk. Same results as decode +
 * checkFinite + quantizeRowsInt4Blockwise.
 */
export function quantizeBf16RowsInt4Blockwise(
  halves: Uint16Array,
  rowLength: number,
  blockSize: number,
  out: Uint8Array,
  scales: Uint16Array,
  scaleOffset: number,
  tensor: string,
  firstRow: number,
): void {
  const table = bf16Values();
  const blocks = halves.length / blockSize;
  for (let b = 0; b < blocks; b++) {
    const base = b * blockSize;
    let maxBits = 0;
    for (let i = 0; i < blockSize; i++) {
      const magnitude = halves[base + i]! & 0x7fff;
      if (magnitude > maxBits) maxBits = magnitude;
    }
    if (maxBits >= 0x7f80) {
      const row = Math.floor(base / rowLength);
      checkFinite(Float32Array.from(halves.subarray(row * rowLength, (row + 1) * rowLength), (h) => table[h]!), tensor, firstRow + row, rowLength);
    }
    const bits = blockScaleBits(table[maxBits]!);
    if (bits === 0x7c00) {
      const row = firstRow + Math.floor(base / rowLength);
      throw new WorkbenchError(
        'bad_weights',
        `${tensor} row ${row} holds a weight of magnitude ${table[maxBits]!.toExponential(3)}, beyond what an int4 block's float16 scale can represent (about 458,000); nothing was written.`,
        { tensor, row },
      );
    }
    scales[scaleOffset + b] = bits;
    const scale = f16ToF32(bits);
    for (let i = 0; i < blockSize; i += 2) {
      let lo = rint(Math.fround(table[halves[base + i]!]! / scale));
      let hi = rint(Math.fround(table[halves[base + i + 1]!]! / scale));
      lo = lo > 7 ? 7 : lo < -8 ? -8 : lo;
      hi = hi > 7 ? 7 : hi < -8 ? -8 : hi;
      out[(base + i) >> 1] = (lo & 0x0f) | ((hi & 0x0f) << 4);
    }
  }
}

/** The block size of a native recipe name, or undefined when it is not a blockwise int4 one. */
export function int4BlockSizeOf(quantize: string): Int4BlockSize | undefined {
  return quantize === 'dynamic_int4_block32' ? 32 : quantize === 'dynamic_int4_block128' ? 128 : undefined;
}

/** The refusal for a weight whose rows do not split into whole blocks (what the quantizer raises), one sentence. */
export function checkBlockable(tensor: string, rowLength: number, blockSize: number): void {
  if (rowLength % blockSize !== 0) {
    const other = blockSize === 128 && rowLength % 32 === 0 ? 'dynamic_int4_block32 or ' : '';
    throw new WorkbenchError(
      'unsupported_option',
      `${tensor} has ${rowLength} input columns, not a multiple of the int4 block size ${blockSize}, so it cannot be quantized blockwise (ai-edge-quantizer refuses it too); choose ${other}dynamic_int8.`,
      { tensor, rowLength, blockSize },
    );
  }
}

/** Bytes of a blockwise int4 weight: packed values plus one float16 scale per block. */
export function int4BlockwiseBytes(rows: number, rowLength: number, blockSize: number): { values: number; scales: number } {
  return { values: (rows * rowLength) / 2, scales: ((rows * rowLength) / blockSize) * 2 };
}
