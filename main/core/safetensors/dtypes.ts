/**
 * safetensors element types and the float conversions the merge needs.
 *
 * The rounding must match PyTorch's so a merged model is bit-identical to what
 * `merge_and_unload()` produces: BF16 is round-to-nearest-even with every NaN
 * becoming 0x7FC0 (c10::BFloat16 round_to_nearest_even), F16 is IEEE 754
 * binary16 with round-to-nearest-even, subnormals and NaN → sign|0x7E00 (the
 * FP16 library PyTorch uses, fp16_ieee_from_fp32_value).
 */

/** Bits per element of every dtype the safetensors format defines. */
const DTYPE_BITS: Readonly<Record<string, number>> = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
};

/** The dtypes the merge can compute in (others are copied byte for byte). */
export type FloatDtype = 'F32' | 'F16' | 'BF16';

export function isKnownDtype(dtype: string): boolean {
  return Object.hasOwn(DTYPE_BITS, dtype);
}

export function isFloatDtype(dtype: string): dtype is FloatDtype {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16';
}

/** Bits per element, or undefined for a dtype the format does not define. */
export function dtypeBits(dtype: string): number | undefined {
  return Object.hasOwn(DTYPE_BITS, dtype) ? DTYPE_BITS[dtype] : undefined;
}

/** Bytes per element for the float dtypes the merge computes in. */
export function floatDtypeBytes(dtype: FloatDtype): 2 | 4 {
  return dtype === 'F32' ? 4 : 2;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function bf16ToF32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** float32 → bfloat16 bits, round to nearest even; NaN → 0x7FC0 like PyTorch. */
export function f32ToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((x + (((x >>> 16) & 1) + 0x7fff)) >>> 16) & 0xffff;
}

export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** float32 → IEEE binary16 bits, round to nearest even, NaN → sign|0x7E00. */
export function f32ToF16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const abs = x & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00;
  if (abs >= 0x477ff000) return sign | 0x7c00; // rounds to ≥ 65520 → infinity
  if (abs < 0x38800000) {
    // Result is subnormal (or zero): value / 2^-24, rounded to nearest even.
    // Exact in float64: the float32 value times 2^24 has at most 24 significant bits.
    const scaled = Math.abs(f32[0]!) * 16777216;
    let q = Math.floor(scaled);
    const rest = scaled - q;
    if (rest > 0.5 || (rest === 0.5 && (q & 1) === 1)) q += 1;
    return sign | q; // q == 1024 yields the smallest normal, which is correct
  }
  // Normal range: rebias the exponent and round the 13 dropped mantissa bits.
  const rebased = abs - 0x38000000;
  const rounded = rebased + 0xfff + ((rebased >>> 13) & 1);
  return sign | (rounded >>> 13);
}

/** Decodes a little-endian float tensor's bytes into float32 values. */
export function decodeToF32(dtype: FloatDtype, bytes: Uint8Array, out: Float32Array): void {
  const count = out.length;
  if (bytes.byteLength !== count * floatDtypeBytes(dtype)) {
    throw new RangeError(`decodeToF32: ${bytes.byteLength} bytes for ${count} ${dtype} values`);
  }
  if (dtype === 'F32') {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
    return;
  }
  const halves = halfView(bytes);
  if (dtype === 'BF16') {
    const wide = new Uint32Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) wide[i] = halves[i]! << 16;
    return;
  }
  for (let i = 0; i < count; i++) out[i] = f16ToF32(halves[i]!);
}

/** Encodes float32 values into a little-endian tensor of the given dtype. */
export function encodeFromF32(dtype: FloatDtype, values: Float32Array, bytes: Uint8Array): void {
  const count = values.length;
  if (bytes.byteLength !== count * floatDtypeBytes(dtype)) {
    throw new RangeError(`encodeFromF32: ${bytes.byteLength} bytes for ${count} ${dtype} values`);
  }
  if (dtype === 'F32') {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return;
  }
  const halves = halfView(bytes);
  if (dtype === 'BF16') {
    const wide = new Uint32Array(values.buffer, values.byteOffset, count);
    for (let i = 0; i < count; i++) {
      const x = wide[i]!;
      halves[i] = (x & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : (x + (((x >>> 16) & 1) + 0x7fff)) >>> 16;
    }
    return;
  }
  for (let i = 0; i < count; i++) halves[i] = f32ToF16(values[i]!);
}

/** A Uint16Array over the bytes (copying only when they are not 2-aligned). */
function halfView(bytes: Uint8Array): Uint16Array {
  if (bytes.byteOffset % 2 === 0) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  throw new RangeError('Tensor bytes must be 2-byte aligned');
}

/** Little-endian hosts only: typed arrays use host byte order, safetensors is little-endian. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
