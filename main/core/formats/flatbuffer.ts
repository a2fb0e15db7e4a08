/**
 * Flatbuffer reading for the header-only readers: a `flatbuffers` ByteBuffer
 * whose bytes come from a window of a file, read page by page on demand, with
 * every access bounds-checked.
 *
 * Why not the plain ByteBuffer over a Uint8Array: a .tflite under 2 GB keeps
 * its weights *inside* the flatbuffer, so reading "just the header" still
 * means following offsets across the whole file. Paging makes the cost
 * proportional to the metadata actually touched (tables, vectors of shapes,
 * names), not to the file size. And the library's ByteBuffer returns
 * `undefined` for out-of-range reads; a garbage file must instead fail with a
 * clear error, so every read here checks its range.
 *
 * `FbTable` is the small typed-accessor layer the readers use in place of
 * flatc-generated classes (see tflite.ts for why).
 */
import { readSync } from 'node:fs';
import { ByteBuffer, Encoding } from 'flatbuffers';

/** Thrown when a flatbuffer offset or length leaves its window; readers turn it into a WorkbenchError. */
export class FlatbufferRangeError extends Error {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly capacity: number,
  ) {
    super(`flatbuffer access [${offset}, ${offset + length}) outside [0, ${capacity})`);
    this.name = 'FlatbufferRangeError';
  }
}

const PAGE_SHIFT = 14; // 16 KiB pages
const PAGE_SIZE = 1 << PAGE_SHIFT;
/** Pages kept in memory per buffer: 32 MiB at most, enough for the metadata of large LLM exports. */
const MAX_CACHED_PAGES = 2048;

type PageSource = (pageIndex: number) => Uint8Array;

export class WindowByteBuffer extends ByteBuffer {
  private readonly length: number;
  private readonly source: PageSource;
  private readonly pages = new Map<number, Uint8Array>();
  private lastIndex = -1;
  private lastPage: Uint8Array = new Uint8Array(0);
  private readonly decoder = new TextDecoder('utf-8');
  /** Bytes read from the underlying file so far (for tests and the benchmark). */
  bytesRead = 0;

  private constructor(length: number, source: PageSource) {
    super(new Uint8Array(0));
    this.length = length;
    this.source = source;
  }

  /** A buffer over bytes already in memory. */
  static fromBytes(bytes: Uint8Array): WindowByteBuffer {
    return new WindowByteBuffer(bytes.byteLength, (index) => bytes.subarray(index << PAGE_SHIFT, (index + 1) << PAGE_SHIFT));
  }

  /**
   * A buffer over `length` bytes of an open file starting at `base` (the
   * embedded .tflite of a .litertlm starts at its section offset). Flatbuffer
   * offsets are 32-bit, so `length` is at most 2^31 - 1 even for larger files.
   */
  static fromFile(fd: number, base: number, length: number): WindowByteBuffer {
    const buffer: WindowByteBuffer = new WindowByteBuffer(Math.min(length, 0x7fffffff), (index) => {
      const start = index << PAGE_SHIFT;
      const page = new Uint8Array(Math.min(PAGE_SIZE, buffer.length - start));
      let filled = 0;
      while (filled < page.length) {
        const n = readSync(fd, page, filled, page.length - filled, base + start + filled);
        if (n === 0) break;
        filled += n;
      }
      buffer.bytesRead += filled;
      // A short read means the file shrank under us; the bounds check below reports it.
      return filled === page.length ? page : page.subarray(0, filled);
    });
    return buffer;
  }

  override capacity(): number {
    return this.length;
  }

  override bytes(): Uint8Array {
    throw new Error('WindowByteBuffer has no contiguous byte array; use slice().');
  }

  override readUint8(offset: number): number {
    this.check(offset, 1);
    return this.byteAt(offset);
  }

  override readUint16(offset: number): number {
    this.check(offset, 2);
    return this.byteAt(offset) | (this.byteAt(offset + 1) << 8);
  }

  override readInt32(offset: number): number {
    this.check(offset, 4);
    const page = this.page(offset >>> PAGE_SHIFT);
    const at = offset & (PAGE_SIZE - 1);
    if (at + 4 <= page.length) {
      return page[at]! | (page[at + 1]! << 8) | (page[at + 2]! << 16) | (page[at + 3]! << 24);
    }
    return this.byteAt(offset) | (this.byteAt(offset + 1) << 8) | (this.byteAt(offset + 2) << 16) | (this.byteAt(offset + 3) << 24);
  }

  override __string(offset: number, encoding?: Encoding): string | Uint8Array {
    const start = offset + this.readInt32(offset);
    const length = this.readInt32(start);
    const bytes = this.slice(start + 4, length);
    return encoding === Encoding.UTF8_BYTES ? bytes : this.decoder.decode(bytes);
  }

  /** A copy of `length` bytes at `offset`. */
  slice(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const page = this.page(at >>> PAGE_SHIFT);
      const from = at & (PAGE_SIZE - 1);
      const take = Math.min(length - done, page.length - from);
      if (take <= 0) throw new FlatbufferRangeError(at, length - done, this.length);
      out.set(page.subarray(from, from + take), done);
      done += take;
    }
    return out;
  }

  /** Throws unless [offset, offset + length) lies inside the window. */
  check(offset: number, length: number): void {
    if (!Number.isInteger(offset) || offset < 0 || length < 0 || offset + length > this.length) {
      throw new FlatbufferRangeError(offset, length, this.length);
    }
  }

  private byteAt(offset: number): number {
    const page = this.page(offset >>> PAGE_SHIFT);
    const value = page[offset & (PAGE_SIZE - 1)];
    if (value === undefined) throw new FlatbufferRangeError(offset, 1, this.length);
    return value;
  }

  private page(index: number): Uint8Array {
    if (index === this.lastIndex) return this.lastPage;
    let page = this.pages.get(index);
    if (!page) {
      page = this.source(index);
      if (this.pages.size >= MAX_CACHED_PAGES) {
        const oldest = this.pages.keys().next().value;
        if (oldest !== undefined) this.pages.delete(oldest);
      }
      this.pages.set(index, page);
    }
    this.lastIndex = index;
    this.lastPage = page;
    return page;
  }
}

/**
 * A flatbuffer table at `pos`. Field ids are the declaration order in the
 * .fbs (a union takes two ids: its type, then its value).
 */
export class FbTable {
  constructor(
    readonly bb: WindowByteBuffer,
    readonly pos: number,
  ) {
    // Validate the vtable once so every accessor can trust it.
    const vtable = pos - bb.readInt32(pos);
    const vtableSize = bb.readUint16(vtable);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new FlatbufferRangeError(vtable, vtableSize, bb.capacity());
    bb.check(vtable, vtableSize);
    bb.check(pos, bb.readUint16(vtable + 2));
  }

  /** The root table of a buffer whose root offset is at byte 0. */
  static root(bb: WindowByteBuffer): FbTable {
    return new FbTable(bb, bb.readUint32(0));
  }

  /** Byte offset of a field inside the table, 0 when absent. */
  offset(field: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * field);
  }

  has(field: number): boolean {
    return this.offset(field) !== 0;
  }

  uint8(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readUint8(this.pos + o) : fallback;
  }

  int8(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readInt8(this.pos + o) : fallback;
  }

  int32(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readInt32(this.pos + o) : fallback;
  }

  uint32(field: number, fallback = 0): number {
    const o = this.offset(field);
    return o ? this.bb.readUint32(this.pos + o) : fallback;
  }

  uint64(field: number): bigint {
    const o = this.offset(field);
    return o ? this.bb.readUint64(this.pos + o) : 0n;
  }

  bool(field: number, fallback = false): boolean {
    const o = this.offset(field);
    return o ? this.bb.readUint8(this.pos + o) !== 0 : fallback;
  }

  string(field: number): string | null {
    const o = this.offset(field);
    return o ? (this.bb.__string(this.pos + o) as string) : null;
  }

  table(field: number): FbTable | null {
    const o = this.offset(field);
    return o ? new FbTable(this.bb, this.bb.__indirect(this.pos + o)) : null;
  }

  /** Absolute position a union value (or any offset field) points at, without assuming it is a table. */
  target(field: number): number | null {
    const o = this.offset(field);
    if (!o) return null;
    const at = this.bb.__indirect(this.pos + o);
    this.bb.check(at, 1);
    return at;
  }

  /** Start and length of a vector of `elementSize`-byte elements; null when absent. */
  vector(field: number, elementSize: number): { start: number; length: number } | null {
    const o = this.offset(field);
    if (!o) return null;
    const start = this.bb.__vector(this.pos + o);
    const length = this.bb.readInt32(start - 4);
    if (length < 0) throw new FlatbufferRangeError(start, length, this.bb.capacity());
    this.bb.check(start, length * elementSize);
    return { start, length };
  }

  vectorLength(field: number): number {
    return this.vector(field, 1)?.length ?? 0;
  }

  tables(field: number): FbTable[] {
    const v = this.vector(field, 4);
    if (!v) return [];
    const out: FbTable[] = [];
    for (let i = 0; i < v.length; i++) out.push(new FbTable(this.bb, this.bb.__indirect(v.start + 4 * i)));
    return out;
  }

  /** The i-th table of a vector of tables, without materialising the others. */
  tableAt(field: number, index: number): FbTable | null {
    const v = this.vector(field, 4);
    if (!v || index < 0 || index >= v.length) return null;
    return new FbTable(this.bb, this.bb.__indirect(v.start + 4 * index));
  }

  int32s(field: number): number[] {
    const v = this.vector(field, 4);
    if (!v) return [];
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.bb.readInt32(v.start + 4 * i));
    return out;
  }
}
