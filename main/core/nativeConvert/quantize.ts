/**
 * Weight encodings of the native converter, applied row-chunk by row-chunk
 * while the file is written (a row is an output channel of a linear layer or
 * one token's embedding, so per-channel scales need nothing but the row):
 *   - float32 / float16: a cast (float16 with round-to-nearest-even);
 *   - int8: symmetric per-row, scale = max|row| / 127 and q = rint(w / scale)
 *     in float32 arithmetic, zero point 0 (what ai_edge_quantizer writes for
 *     dynamic_wi8_afp32 and weight_only_wi8_afp32);
 *   - int4: blockwise, in blockwise.ts.
 * Deliberate edge cases: a row of zeros gets scale 1 (q = 0; XNNPACK refuses
 * zero scales), and a NaN or infinite weight is an error naming the tensor and
 * row, never a NaN model.
 */
import { WorkbenchError } from '../../common/errors.js';
import { f32ToF16 } from '../safetensors/dtypes.js';

/** int4: blockwise, two values per byte, with float16 scales per block (blockwise.ts). */
export type WeightEncoding = 'float32' | 'float16' | 'int8' | 'int4';

export const ENCODING_BYTES: Record<WeightEncoding, number> = { float32: 4, float16: 2, int8: 1, int4: 0.5 };

export function checkFinite(values: Float32Array, tensor: string, firstRow: number, rowLength: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0) {
      const row = firstRow + Math.floor(i / rowLength);
      throw new WorkbenchError(
        'bad_weights',
        `${tensor} holds ${Number.isNaN(v) ? 'NaN' : 'an infinite value'} (row ${row}, column ${i % rowLength}); the checkpoint is damaged or the merge overflowed, so nothing was written.`,
        { tensor, row },
      );
    }
  }
}

/**
 * Round half to even, as numpy.rint / torch.round, without a branch: adding
 * and subtracting 1.5·2^52 leaves a float64 with no fraction bits, and IEEE
 * addition rounds to nearest even. Exact for |x| < 2^51 (ours are ≤ 2^8).
 * A branchy version was 3–4× slower on real BF16 weights (mispredicted ties).
 */
const RINT_MAGIC = 6755399441055744;
function rint(x: number): number {
  return x + RINT_MAGIC - RINT_MAGIC;
}

/** Quantizes `rows` rows of `rowLength` values; writes int8 values into `out` and one scale per row into `scales`. */
export function quantizeRowsInt8(values: Float32Array, rowLength: number, out: Int8Array, scales: Float32Array, scaleOffset: number): void {
  const rows = values.length / rowLength;
  for (let r = 0; r < rows; r++) {
    const base = r * rowLength;
    let max = 0;
    for (let i = 0; i < rowLength; i++) {
      const a = Math.abs(values[base + i]!);
      if (a > max) max = a;
    }
    const scale = max === 0 ? 1 : Math.fround(max / 127);
    scales[scaleOffset + r] = scale;
    for (let i = 0; i < rowLength; i++) {
      const q = rint(Math.fround(values[base + i]! / scale));
      out[base + i] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
}

/** float32 value of every BF16 bit pattern (256 KiB, stays in cache). */
let bf16Table: Float32Array | null = null;
export function bf16Values(): Float32Array {
  if (!bf16Table) {
    const bits = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) bits[h] = h << 16;
    bf16Table = new Float32Array(bits.buffer);
  }
  return bf16Table;
}

/**
 * The int8 encoding straight from BF16 bits, fused (the hot path of the
 * field report's checkpoints): the row maximum and the NaN/Inf check work on
 * the integer bits (|x| orders like its bits), values come from a lookup
 * table, so no float32 copy of the chunk is made. Same results as
 * decode + checkFinite + quantizeRowsInt8.
 */
export function quantizeBf16RowsInt8(halves: Uint16Array, rowLength: number, out: Int8Array, scales: Float32Array, scaleOffset: number, tensor: string, firstRow: number): void {
  const table = bf16Values();
  const rows = halves.length / rowLength;
  for (let r = 0; r < rows; r++) {
    const base = r * rowLength;
    let maxBits = 0;
    for (let i = 0; i < rowLength; i++) {
      const magnitude = halves[base + i]! & 0x7fff;
      if (magnitude > maxBits) maxBits = magnitude;
    }
    if (maxBits >= 0x7f80) checkFinite(decodeRow(halves, base, rowLength, table), tensor, firstRow + r, rowLength);
    const max = table[maxBits]!;
    const scale = max === 0 ? 1 : Math.fround(max / 127);
    scales[scaleOffset + r] = scale;
    for (let i = 0; i < rowLength; i++) {
      const q = rint(Math.fround(table[halves[base + i]!]! / scale));
      out[base + i] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
}

function decodeRow(halves: Uint16Array, base: number, rowLength: number, table: Float32Array): Float32Array {
  const row = new Float32Array(rowLength);
  for (let i = 0; i < rowLength; i++) row[i] = table[halves[base + i]!]!;
  return row;
}

export function encodeFloat16(values: Float32Array, out: Uint16Array): void {
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16(values[i]!);
}
