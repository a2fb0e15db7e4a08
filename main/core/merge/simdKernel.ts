/**
 * The inner loops of the merge as two tiny hand-assembled WebAssembly SIMD
 * functions: the product row acc[0..cols) = Σₖ p[k] · Q[k, 0..cols) (f32x4, two
 * ranks per pass) and the BF16 row update (widen, add, round to nearest even,
 * narrow).
 * Plain JavaScript reaches under 1 GMAC/s here; this runs several times faster
 * on the same core, which is what lets a streaming merge keep up with the disk.
 * The bytes are spelled out below (no toolchain needed to build or audit them);
 * unit tests check the function against a float64 reference.
 */

const SIMD = 0xfd;
const op = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d,
  localGet: 0x20, localSet: 0x21,
  f32Load: 0x2a, i32Const: 0x41, i32GeU: 0x4f, i32Add: 0x6a, i32Mul: 0x6c, i32Shl: 0x74,
} as const;
const simd = {
  v128Load: [SIMD, 0x00], v128Load16x4U: [SIMD, 0x04], v128Store: [SIMD, 0x0b], v128Store64Lane: [SIMD, 0x5b],
  i32x4Splat: [SIMD, 0x11], f32x4Splat: [SIMD, 0x13], f32x4Ne: [SIMD, 0x42],
  v128And: [SIMD, 0x4e], v128Bitselect: [SIMD, 0x52], i16x8NarrowI32x4U: [SIMD, 0x86, 0x01],
  i32x4Shl: [SIMD, 0xab, 0x01], i32x4ShrU: [SIMD, 0xad, 0x01], i32x4Add: [SIMD, 0xae, 0x01],
  f32x4Add: [SIMD, 0xe4, 0x01], f32x4Mul: [SIMD, 0xe6, 0x01],
} as const;
const F32 = 0x7d;
const I32 = 0x7f;
const V128 = 0x7b;
const EMPTY_BLOCK = 0x40;

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 (i32.const immediates). */
function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...uleb(bytes.length), ...bytes];
}

/**
 * kernel(p, q, acc, rank, cols): byte offsets p (rank f32), q (rank × cols f32,
 * row-major), acc (cols f32, accumulated into); rank even, cols a multiple of 4.
 */
function kernelBody(): number[] {
  const [P, Q, ACC, RANK, COLS] = [0, 1, 2, 3, 4];
  const [K, JB, Q0, Q1, COLS_BYTES, PK0, PK1] = [5, 6, 7, 8, 9, 10, 11];
  const get = (i: number) => [op.localGet, i];
  const set = (i: number) => [op.localSet, i];
  const i32 = (v: number) => [op.i32Const, ...sleb(v)];
  const mem = [0x00, 0x00]; // align 1, offset 0: the hint never traps
  const splatP = (extra: number) => [...get(P), ...get(K), ...i32(2), op.i32Shl, op.i32Add, op.f32Load, 0x02, extra * 4, ...simd.f32x4Splat];
  const code = [
    ...get(COLS), ...i32(2), op.i32Shl, ...set(COLS_BYTES),
    ...i32(0), ...set(K),
    op.block, EMPTY_BLOCK,
    op.loop, EMPTY_BLOCK,
    ...get(K), ...get(RANK), op.i32GeU, op.brIf, 1,
    ...splatP(0), ...set(PK0),
    ...splatP(1), ...set(PK1),
    ...get(Q), ...get(K), ...get(COLS_BYTES), op.i32Mul, op.i32Add, ...set(Q0),
    ...get(Q0), ...get(COLS_BYTES), op.i32Add, ...set(Q1),
    ...i32(0), ...set(JB),
    op.block, EMPTY_BLOCK,
    op.loop, EMPTY_BLOCK,
    ...get(JB), ...get(COLS_BYTES), op.i32GeU, op.brIf, 1,
    // acc[j] += pk0 * q0[j] + pk1 * q1[j]
    ...get(ACC), ...get(JB), op.i32Add,
    ...get(ACC), ...get(JB), op.i32Add, ...simd.v128Load, ...mem,
    ...get(PK0), ...get(Q0), ...get(JB), op.i32Add, ...simd.v128Load, ...mem, ...simd.f32x4Mul,
    ...get(PK1), ...get(Q1), ...get(JB), op.i32Add, ...simd.v128Load, ...mem, ...simd.f32x4Mul,
    ...simd.f32x4Add,
    ...simd.f32x4Add,
    ...simd.v128Store, ...mem,
    ...get(JB), ...i32(16), op.i32Add, ...set(JB),
    op.br, 0,
    op.end,
    op.end,
    ...get(K), ...i32(2), op.i32Add, ...set(K),
    op.br, 0,
    op.end,
    op.end,
    op.end,
  ];
  const locals = [0x02, ...uleb(5), I32, ...uleb(2), V128];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

/**
 * bf16row(acc, w, cols, scale): w[j] ← bf16(f32(w[j]) + acc[j]·scale) for a row
 * of cols (a multiple of 4) BF16 values at w, rounding to nearest even and
 * turning NaN into 0x7FC0, as c10::BFloat16 does.
 */
function bf16RowBody(): number[] {
  const [ACC, W, COLS, SCALE] = [0, 1, 2, 3];
  const [J, SCALE4, SUM, BITS, NAN_MASK] = [4, 5, 6, 7, 8];
  const get = (i: number) => [op.localGet, i];
  const set = (i: number) => [op.localSet, i];
  const i32 = (v: number) => [op.i32Const, ...sleb(v)];
  const mem = [0x00, 0x00];
  const code = [
    ...get(SCALE), ...simd.f32x4Splat, ...set(SCALE4),
    ...i32(0), ...set(J),
    op.block, EMPTY_BLOCK,
    op.loop, EMPTY_BLOCK,
    ...get(J), ...get(COLS), op.i32GeU, op.brIf, 1,
    // sum = f32(w[j..j+4]) + acc[j..j+4] · scale
    ...get(W), ...get(J), ...i32(1), op.i32Shl, op.i32Add, ...simd.v128Load16x4U, ...mem,
    ...i32(16), ...simd.i32x4Shl,
    ...get(ACC), ...get(J), ...i32(2), op.i32Shl, op.i32Add, ...simd.v128Load, ...mem,
    ...get(SCALE4), ...simd.f32x4Mul,
    ...simd.f32x4Add, ...set(SUM),
    // NaN lanes
    ...get(SUM), ...get(SUM), ...simd.f32x4Ne, ...set(NAN_MASK),
    // round to nearest even: (x + 0x7fff + ((x >> 16) & 1)) >> 16
    ...get(SUM),
    ...get(SUM), ...i32(16), ...simd.i32x4ShrU, ...i32(1), ...simd.i32x4Splat, ...simd.v128And,
    ...i32(0x7fff), ...simd.i32x4Splat, ...simd.i32x4Add,
    ...simd.i32x4Add,
    ...i32(16), ...simd.i32x4ShrU, ...set(BITS),
    // select 0x7fc0 where NaN, narrow to u16 and store the four values
    ...get(W), ...get(J), ...i32(1), op.i32Shl, op.i32Add,
    ...i32(0x7fc0), ...simd.i32x4Splat, ...get(BITS), ...get(NAN_MASK), ...simd.v128Bitselect,
    ...get(BITS), ...simd.i16x8NarrowI32x4U,
    ...simd.v128Store64Lane, ...mem, 0x00,
    ...get(J), ...i32(4), op.i32Add, ...set(J),
    op.br, 0,
    op.end,
    op.end,
    op.end,
  ];
  const locals = [0x02, ...uleb(1), I32, ...uleb(4), V128];
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x02, 0x60, 0x05, I32, I32, I32, I32, I32, 0x00, 0x60, 0x04, I32, I32, I32, F32, 0x00]),
    ...section(3, [0x02, 0x00, 0x01]),
    ...section(5, [0x01, 0x00, 0x01]), // one memory, min 1 page, grown on demand
    ...section(7, [0x03, ...name('kernel'), 0x00, 0x00, ...name('bf16row'), 0x00, 0x01, ...name('memory'), 0x02, 0x00]),
    ...section(10, [0x02, ...kernelBody(), ...bf16RowBody()]),
  ];
  return new Uint8Array(bytes);
}

export interface RowKernel {
  /** Linear memory; views must be re-made after ensure() grows it. */
  memory: WebAssembly.Memory;
  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void;
  run(pOffset: number, qOffset: number, accOffset: number, rank: number, cols: number): void;
  /** BF16 row update in place at wOffset (cols a multiple of 4). */
  bf16Row(accOffset: number, wOffset: number, cols: number, scale: number): void;
}

let compiled: WebAssembly.Module | null | undefined;

/** A fresh kernel instance (one per thread), or null where WebAssembly SIMD is unavailable. */
export function createRowKernel(): RowKernel | null {
  if (compiled === undefined) {
    const bytes = moduleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  if (!compiled) return null;
  const instance = new WebAssembly.Instance(compiled, {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  const kernel = instance.exports.kernel as (p: number, q: number, acc: number, rank: number, cols: number) => void;
  return {
    memory,
    ensure(bytes: number): void {
      const missing = bytes - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    },
    run: kernel,
    bf16Row: instance.exports.bf16row as (acc: number, w: number, cols: number, scale: number) => void,
  };
}
