/**
 * Weight encodings of the native converter, applied row-chunk by row-chunk
 * while the file is written (a row is an output channel of a linear layer or
 * one token's embedding, so per-channel scales need nothing but the row):
 *   - float32 / float16: a cast (float16 with round-to-nearest-even);
 *   - int8: symmetric per-row, scale = max|row| / 127 and q = rint(w / scale)
 *     in float32 arithmetic, zero point 0 (what ai_edge_quantizer writes for
 *     dynamic_wi8_afp32 and weight_only_wi8_afp32).
 * Deliberate edge cases: a row of zeros gets scale 1 (q = 0; XNNPACK refuses
 * zero scales), and a NaN or infinite weight is an error naming the tensor and
 * row, never a NaN model.
 */
import { WorkbenchError } from '../../common/errors.js';
import { f32ToF16 } from '../safetensors/dtypes.js';

export type WeightEncoding = 'float32' | 'float16' | 'int8';

export const ENCODING_BYTES: Record<WeightEncoding, number> = { float32: 4, float16: 2, int8: 1 };

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

/** Round half to even, as numpy.rint / torch.round. */
function rint(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
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

export function encodeFloat16(values: Float32Array, out: Uint16Array): void {
  for (let i = 0; i < values.length; i++) out[i] = f32ToF16(values[i]!);
}
