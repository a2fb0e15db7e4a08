/**
 * The inner product of the merge, acc[0..cols) = Σₖ p[k] · Q[k, 0..cols), as a
 * tiny hand-assembled WebAssembly SIMD function (f32x4, two ranks per pass).
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
  v128Load: [SIMD, 0x00], v128Store: [SIMD, 0x0b], f32x4Splat: [SIMD, 0x13],
  f32x4Add: [SIMD, 0xe4, 0x01], f32x4Mul: [SIMD, 0xe6, 0x01],
} as const;
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
  const i32 = (v: number) => [op.i32Const, ...uleb(v)]; // small non-negative constants only (uleb == sleb below 64)
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

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [0x01, 0x60, 0x05, I32, I32, I32, I32, I32, 0x00]),
    ...section(3, [0x01, 0x00]),
    ...section(5, [0x01, 0x00, 0x01]), // one memory, min 1 page, grown on demand
    ...section(7, [0x02, ...name('kernel'), 0x00, 0x00, ...name('memory'), 0x02, 0x00]),
    ...section(10, [0x01, ...kernelBody()]),
  ];
  return new Uint8Array(bytes);
}

export interface RowKernel {
  /** Linear memory; views must be re-made after ensure() grows it. */
  memory: WebAssembly.Memory;
  /** Makes the memory at least `bytes` long. */
  ensure(bytes: number): void;
  run(pOffset: number, qOffset: number, accOffset: number, rank: number, cols: number): void;
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
  };
}
