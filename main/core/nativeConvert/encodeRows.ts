/**
 * One chunk's rows encoded into their .tflite form: the task a worker thread
 * (or, without workers, the converter's own thread) runs over shared memory.
 * Source rows (F32, F16 or BF16 bytes) in, encoded rows (float32, float16 or
 * int8 with one scale per row) out; NaN/Inf stops it with the tensor and row.
 */
import { decodeToF32, type FloatDtype } from '../safetensors/dtypes.js';
import { quantizeBf16RowsInt4Blockwise, quantizeRowsInt4Blockwise } from './blockwise.js';
import { checkFinite, encodeFloat16, ENCODING_BYTES, quantizeBf16RowsInt8, quantizeRowsInt8, type WeightEncoding } from './quantize.js';

export interface EncodeRowsTask {
  tensor: string;
  dtype: FloatDtype;
  encoding: WeightEncoding;
  rowLength: number;
  /** Source bytes of the chunk (rows × rowLength values), from its first row. */
  source: SharedArrayBuffer | ArrayBuffer;
  /** Encoded bytes of the chunk, same rows. */
  target: SharedArrayBuffer | ArrayBuffer;
  /** int8: one float32 scale per row of the whole tensor; int4: one float16 scale per block. */
  scales: SharedArrayBuffer | ArrayBuffer | null;
  /** int4: values per block (32 or 128). */
  blockSize?: number;
  /** The tensor row the chunk starts at (for scales and error messages). */
  chunkRow: number;
  /** The part of the chunk this task encodes, in chunk rows. */
  rowStart: number;
  rowEnd: number;
}

const SOURCE_BYTES: Record<FloatDtype, number> = { F32: 4, F16: 2, BF16: 2 };

let scratch = new Float32Array(0);

export function encodeRows(task: EncodeRowsTask): void {
  const { rowLength, rowStart, rowEnd } = task;
  const n = (rowEnd - rowStart) * rowLength;
  if (n === 0) return;
  const inBytes = SOURCE_BYTES[task.dtype];
  const outBytes = ENCODING_BYTES[task.encoding];
  const source = new Uint8Array(task.source, rowStart * rowLength * inBytes, n * inBytes);
  const firstRow = task.chunkRow + rowStart;
  if (task.encoding === 'int4') {
    const blockSize = task.blockSize!;
    const out = new Uint8Array(task.target, (rowStart * rowLength) / 2, n / 2);
    const scales = new Uint16Array(task.scales!);
    if (task.dtype === 'BF16') {
      quantizeBf16RowsInt4Blockwise(new Uint16Array(task.source, source.byteOffset, n), rowLength, blockSize, out, scales, (firstRow * rowLength) / blockSize, task.tensor, firstRow);
      return;
    }
    if (scratch.length < n) scratch = new Float32Array(n);
    const values = scratch.subarray(0, n);
    decodeToF32(task.dtype, source, values);
    checkFinite(values, task.tensor, firstRow, rowLength);
    quantizeRowsInt4Blockwise(values, rowLength, blockSize, out, scales, (firstRow * rowLength) / blockSize, task.tensor, firstRow);
    return;
  }
  if (task.encoding === 'int8' && task.dtype === 'BF16') {
    const out = new Int8Array(task.target, rowStart * rowLength, n);
    quantizeBf16RowsInt8(new Uint16Array(task.source, source.byteOffset, n), rowLength, out, new Float32Array(task.scales!), firstRow, task.tensor, firstRow);
    return;
  }
  if (scratch.length < n) scratch = new Float32Array(n);
  const values = scratch.subarray(0, n);
  decodeToF32(task.dtype, source, values);
  checkFinite(values, task.tensor, firstRow, rowLength);
  const target = new Uint8Array(task.target, rowStart * rowLength * outBytes, n * outBytes);
  if (task.encoding === 'float32') target.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  else if (task.encoding === 'float16') encodeFloat16(values, new Uint16Array(task.target, target.byteOffset, n));
  else quantizeRowsInt8(values, rowLength, new Int8Array(task.target, target.byteOffset, n), new Float32Array(task.scales!), firstRow);
}
