/**
 * The verify pass: re-reads the written model from disk and checks it against
 * the inputs with arithmetic that shares nothing with the merge path (float64
 * throughout, scalar code, no workers, no SIMD):
 *  - the tensor table equals the base's (names, dtypes, shapes);
 *  - sampled rows of sampled LoRA-updated tensors equal W + s·(B·A) computed
 *    in float64, within one unit in the last place of the output dtype (the
 *    merge rounds a float32 result once; PEFT does the same);
 *  - replaced tensors equal the adapter's values converted to the base dtype;
 *  - sampled untouched tensors are byte-identical to the base.
 */
import { WorkbenchError } from '../../common/errors.js';
import { bf16ToF32, f16ToF32, type FloatDtype } from '../safetensors/dtypes.js';
import { readSafetensorsModel, type ModelTensor, type SafetensorsModel } from '../safetensors/header.js';
import { SafetensorsReader } from '../safetensors/reader.js';
import type { MergePlan, TensorPlan } from './plan.js';

export interface VerifyOptions {
  /** How many LoRA-updated tensors to check (spread over the model). */
  loraTensors?: number;
  /** Rows checked per sampled tensor. */
  rowsPerTensor?: number;
  /** Byte budget for comparing untouched tensors with the base. */
  copyBytesBudget?: number;
  signal?: AbortSignal;
}

export interface VerifyResult {
  ok: boolean;
  checkedTensors: number;
  checkedValues: number;
  identicalCopies: number;
  /** Largest |output − float64 reference| in units of the output dtype's ulp at the reference. */
  maxUlpError: number;
  failures: string[];
}

const MANTISSA_BITS: Record<FloatDtype, number> = { F32: 23, F16: 10, BF16: 7 };
const MIN_NORMAL_EXP: Record<FloatDtype, number> = { F32: -126, F16: -14, BF16: -126 };

/** One unit in the last place of `dtype` at magnitude |x|. */
export function ulpAt(dtype: FloatDtype, x: number): number {
  const a = Math.abs(x);
  const exp = a === 0 || !Number.isFinite(a) ? MIN_NORMAL_EXP[dtype] : Math.max(MIN_NORMAL_EXP[dtype], Math.floor(Math.log2(a)));
  return 2 ** (exp - MANTISSA_BITS[dtype]);
}

/** Every value of a little-endian float tensor (or part of one) as float64, scalar code. */
function decodeAll(dtype: string, bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = dtype === 'F32' ? 4 : 2;
  const out = new Float64Array(bytes.byteLength / size);
  for (let i = 0; i < out.length; i++) {
    if (dtype === 'F32') out[i] = view.getFloat32(i * 4, true);
    else if (dtype === 'F16') out[i] = f16ToF32(view.getUint16(i * 2, true));
    else if (dtype === 'BF16') out[i] = bf16ToF32(view.getUint16(i * 2, true));
    else throw new Error(`decodeAll: ${dtype}`);
  }
  return out;
}

/** A small deterministic PRNG so a verify pass is reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function spread<T>(items: T[], count: number): T[] {
  if (items.length <= count) return items;
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(items[Math.round((i * (items.length - 1)) / Math.max(1, count - 1))]!);
  return [...new Set(out)];
}

export async function verifyMergedModel(outputDir: string, plan: MergePlan, base: SafetensorsModel, options: VerifyOptions = {}): Promise<VerifyResult> {
  const failures: string[] = [];
  const output = await readSafetensorsModel(outputDir);
  for (const t of base.tensors) {
    const o = output.byName.get(t.entry.name);
    if (!o) failures.push(`${t.entry.name} is missing from the output`);
    else if (o.entry.dtype !== t.entry.dtype || o.entry.shape.join() !== t.entry.shape.join()) failures.push(`${t.entry.name} changed dtype or shape`);
  }
  if (output.tensors.length !== base.tensors.length) failures.push(`the output has ${output.tensors.length} tensors, the base ${base.tensors.length}`);
  const reader = new SafetensorsReader();
  const random = mulberry32(0x5eed);
  let checkedTensors = 0;
  let checkedValues = 0;
  let identicalCopies = 0;
  let maxUlpError = 0;
  const aborted = (): void => {
    if (options.signal?.aborted) throw new WorkbenchError('cancelled', 'The merge was stopped.');
  };
  try {
    if (failures.length === 0) {
      const loraPlans = plan.tensors.filter((p) => p.lora);
      for (const p of spread(loraPlans, options.loraTensors ?? 8)) {
        aborted();
        const { values, worst } = await checkLoraRows(p, output.byName.get(p.name)!, reader, random, options.rowsPerTensor ?? 4, failures);
        checkedValues += values;
        maxUlpError = Math.max(maxUlpError, worst);
        checkedTensors += 1;
      }
      for (const p of plan.tensors.filter((x) => x.replaceWith || x.loraBias)) {
        aborted();
        const { values, worst } = await checkWholeTensor(p, output.byName.get(p.name)!, reader, failures);
        checkedValues += values;
        maxUlpError = Math.max(maxUlpError, worst);
        checkedTensors += 1;
      }
      let budget = options.copyBytesBudget ?? 64 * 1024 * 1024;
      const untouched = plan.tensors.filter((x) => !x.lora && !x.replaceWith && !x.loraBias);
      for (const p of spread(untouched, 16)) {
        aborted();
        if (p.base.entry.byteLength > budget) continue;
        budget -= p.base.entry.byteLength;
        const [a, b] = await Promise.all([reader.readTensor(p.base.file, p.base.entry), reader.readTensor(output.byName.get(p.name)!.file, output.byName.get(p.name)!.entry)]);
        if (Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) identicalCopies += 1;
        else failures.push(`${p.name} should be copied unchanged but differs from the base`);
        checkedTensors += 1;
      }
    }
  } finally {
    await reader.close();
  }
  return { ok: failures.length === 0, checkedTensors, checkedValues, identicalCopies, maxUlpError, failures };
}

async function readFloat64(reader: SafetensorsReader, t: { file: ModelTensor['file']; entry: ModelTensor['entry'] }): Promise<Float64Array> {
  return decodeAll(t.entry.dtype, await reader.readTensor(t.file, t.entry));
}

function compare(name: string, dtype: FloatDtype, got: number, reference: number, magnitude: number, failures: string[], baseValue: number): number {
  // NaN or ±Inf where the base was finite is a broken model whatever the reference says: an adapter full of NaN
  // merges to NaN, its float64 reference is NaN too, and the two "agree".
  if (!Number.isFinite(got) && Number.isFinite(baseValue)) {
    if (failures.length < 20) failures.push(`${name} is ${got} in the merged model where the base holds ${baseValue}: the adapter holds NaN or infinite values (or its update overflows ${dtype}).`);
    return 0;
  }
  if (Number.isNaN(reference) || Number.isNaN(got)) {
    if (Number.isNaN(reference) !== Number.isNaN(got)) failures.push(`${name}: got ${got}, expected ${reference}`);
    return 0;
  }
  const ulp = ulpAt(dtype, reference);
  const error = Math.abs(got - reference);
  // One output ulp for the final rounding, plus float32's own rounding of the terms it summed.
  const allowed = ulp + magnitude * 2 ** -21;
  if (!(error <= allowed) && failures.length < 20) failures.push(`${name}: got ${got}, float64 reference ${reference} (${(error / ulp).toFixed(2)} ulp)`);
  return error / ulp;
}

async function checkLoraRows(p: TensorPlan, out: ModelTensor, reader: SafetensorsReader, random: () => number, rowCount: number, failures: string[]): Promise<{ values: number; worst: number }> {
  const lora = p.lora!;
  const dtype = p.base.entry.dtype as FloatDtype;
  const [rows, cols] = p.base.entry.shape as [number, number];
  const a = await readFloat64(reader, lora.a); // r × in (embedding: r × num)
  const b = await readFloat64(reader, lora.b); // out × r (embedding: dim × r)
  const r = lora.a.entry.shape[0]!;
  const inDim = lora.a.entry.shape[1]!;
  const rowBytes = cols * (p.base.entry.byteLength / (rows * cols));
  const picked = new Set<number>([0, rows - 1]);
  while (picked.size < Math.min(rows, rowCount)) picked.add(Math.floor(random() * rows));
  let values = 0;
  let worst = 0;
  for (const i of picked) {
    const baseRow = decodeAll(dtype, await reader.readRange(p.base.file, p.base.entry, new Uint8Array(rowBytes), i * rowBytes, rowBytes));
    const outRow = decodeAll(dtype, await reader.readRange(out.file, out.entry, new Uint8Array(rowBytes), i * rowBytes, rowBytes));
    for (let j = 0; j < cols; j++) {
      // Stored W[i][j]; the delta element is (B·A)[i][j], or (B·A)[j][i] when stored transposed.
      const [o, n] = lora.transposed ? [j, i] : [i, j];
      let sum = 0;
      let magnitude = 0;
      for (let k = 0; k < r; k++) {
        const term = b[o * r + k]! * a[k * inDim + n]!;
        sum += term;
        magnitude += Math.abs(term);
      }
      const w = baseRow[j]!;
      const reference = w + lora.scale * sum;
      worst = Math.max(worst, compare(`${p.name}[${i}, ${j}]`, dtype, outRow[j]!, reference, Math.abs(w) + Math.abs(lora.scale) * magnitude, failures, w));
      values += 1;
    }
  }
  return { values, worst };
}

async function checkWholeTensor(p: TensorPlan, out: ModelTensor, reader: SafetensorsReader, failures: string[]): Promise<{ values: number; worst: number }> {
  const dtype = p.base.entry.dtype as FloatDtype;
  const start = await readFloat64(reader, p.replaceWith ?? p.base);
  const bias = p.loraBias ? await readFloat64(reader, p.loraBias.bias) : undefined;
  const written = await readFloat64(reader, out);
  // A replaced tensor (modules_to_save) is judged against the base's values too: NaN brought in by the adapter is a failure.
  const baseValues = p.replaceWith ? await readFloat64(reader, p.base) : start;
  let worst = 0;
  for (let i = 0; i < written.length; i++) {
    const delta = bias ? p.loraBias!.scale * bias[i]! : 0;
    const reference = start[i]! + delta;
    worst = Math.max(worst, compare(`${p.name}[${i}]`, dtype, written[i]!, reference, Math.abs(start[i]!) + Math.abs(delta), failures, baseValues[i] ?? 0));
  }
  return { values: written.length, worst };
}
