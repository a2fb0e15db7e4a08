/**
 * The arithmetic of one LoRA update, row by row, as PyTorch performs PEFT's
 * merge on CPU: the delta P·Q is formed in float32 (the SIMD kernels in
 * simdKernel.ts; BF16 rows are updated there too), multiplied by the scaling as a float32, added to the weight
 * upcast to float32, and the float32 sum is rounded back to the weight's dtype
 * (BF16 round-to-nearest-even, F16 IEEE).
 *
 * The weight is updated in place in its own bytes, one row at a time, so a
 * worker needs only a row of scratch space whatever the tensor's size.
 * Orientation: W is rows × cols; P is rows × rank and Q is rank × cols, already
 * arranged by the caller (P = B, Q = A for a Linear; P = Aᵀ, Q = Bᵀ when the
 * stored weight is transposed: fan_in_fan_out or an Embedding). The caller pads
 * rank to an even number and Q's row stride to a multiple of 4 with zeros.
 */
import { WorkbenchError } from '../../common/errors.js';
import { f16ToF32, f32ToF16, type FloatDtype } from '../safetensors/dtypes.js';
import { createRowKernel, type RowKernel } from './simdKernel.js';

export interface LoraRowsTask {
  /** The weight's bytes (little-endian, dtype below), rows × cols. */
  weight: SharedArrayBuffer;
  dtype: FloatDtype;
  rows: number;
  cols: number;
  /** Even; P's row length and Q's row count. */
  rank: number;
  /** Q's row stride: cols rounded up to a multiple of 4. */
  colsPadded: number;
  /** rows × rank, float32. */
  p: SharedArrayBuffer;
  /** rank × colsPadded, float32. */
  q: SharedArrayBuffer;
  /** The scaling as PyTorch uses it: a float32. */
  scale: number;
  rowStart: number;
  rowEnd: number;
}

/** Rank padded to even, columns padded to a multiple of 4: the SIMD kernel's layout. */
export function kernelLayout(rank: number, cols: number): { rank: number; colsPadded: number } {
  return { rank: rank + (rank % 2), colsPadded: Math.ceil(cols / 4) * 4 };
}

let kernel: RowKernel | null | undefined;

function rowKernel(): RowKernel {
  if (kernel === undefined) kernel = createRowKernel();
  if (!kernel) throw new WorkbenchError('merge_simd_unavailable', 'This runtime has no WebAssembly SIMD, which the merge needs for its matrix products.');
  return kernel;
}

/** Applies W[i, :] ← round(W[i, :] + scale · (P[i, :] · Q)) for rowStart ≤ i < rowEnd. */
export function applyLoraRows(task: LoraRowsTask): void {
  const { dtype, rows, cols, rank, colsPadded, rowStart, rowEnd } = task;
  if (rowStart < 0 || rowEnd > rows || rowStart > rowEnd) throw new RangeError(`rows ${rowStart}..${rowEnd} outside 0..${rows}`);
  if (rank % 2 !== 0 || colsPadded % 4 !== 0 || colsPadded < cols) throw new RangeError('applyLoraRows: rank must be even and colsPadded a multiple of 4 ≥ cols');
  const count = rowEnd - rowStart;
  if (count === 0) return;
  const k = rowKernel();
  const qBytes = rank * colsPadded * 4;
  const pOffset = qBytes;
  const accOffset = pOffset + count * rank * 4;
  const rowOffset = accOffset + colsPadded * 4;
  k.ensure(rowOffset + colsPadded * 2);
  const memory = k.memory.buffer;
  new Float32Array(memory, 0, rank * colsPadded).set(new Float32Array(task.q, 0, rank * colsPadded));
  new Float32Array(memory, pOffset, count * rank).set(new Float32Array(task.p, rowStart * rank * 4, count * rank));
  const acc = new Float32Array(memory, accOffset, colsPadded);
  const wasmRow = new Uint16Array(memory, rowOffset, cols);

  const scale = Math.fround(task.scale);
  const row32 = new Float32Array(cols);
  const halves = dtype === 'F32' ? undefined : new Uint16Array(task.weight, 0, rows * cols);
  const floats = dtype === 'F32' ? new Float32Array(task.weight, 0, rows * cols) : undefined;
  for (let i = rowStart; i < rowEnd; i++) {
    acc.fill(0);
    k.run(pOffset + (i - rowStart) * rank * 4, 0, accOffset, rank, colsPadded);
    const base = i * cols;
    if (floats) {
      for (let j = 0; j < cols; j++) floats[base + j] = floats[base + j]! + Math.fround(acc[j]! * scale);
    } else if (dtype === 'BF16') {
      // Widen, add, round to nearest even (NaN → 0x7FC0) and narrow in SIMD, on a copy of the row.
      const h = halves!;
      wasmRow.set(h.subarray(base, base + cols));
      k.bf16Row(accOffset, rowOffset, colsPadded, scale);
      h.set(wasmRow, base);
    } else {
      const h = halves!;
      for (let j = 0; j < cols; j++) row32[j] = f16ToF32(h[base + j]!) + Math.fround(acc[j]! * scale);
      for (let j = 0; j < cols; j++) h[base + j] = f32ToF16(row32[j]!);
    }
  }
}
