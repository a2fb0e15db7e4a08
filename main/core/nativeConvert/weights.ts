/**
 * The model's weights as streamed buffers of the TFLite writer: each Hugging
 * Face tensor is read from its safetensors file a few megabytes of rows at a
 * time, decoded to float32 (F32, F16 or BF16 sources), checked for NaN/Inf,
 * encoded (encodeRows.ts, on the worker threads of encodePool.ts) and handed
 * to the writer. A tensor is registered once
 * and shared by every signature (and by the embedding and a tied lm_head).
 */
import { WorkbenchError } from '../../common/errors.js';
import { floatDtypeBytes, isFloatDtype, type FloatDtype } from '../safetensors/dtypes.js';
import type { SafetensorsModel } from '../safetensors/header.js';
import { SafetensorsReader } from '../safetensors/reader.js';
import type { ModelGraph, Quantization, TensorType } from '../tfliteWriter/graph.js';
import type { EncodePool } from './encodePool.js';
import { checkBlockable } from './blockwise.js';
import { ENCODING_BYTES, type WeightEncoding } from './quantize.js';

/** Source bytes read per chunk: bounds the converter's memory whatever the tensor size. */
export const CHUNK_SOURCE_BYTES = 8 << 20;

export interface RegisteredWeight {
  name: string;
  buffer: number;
  type: TensorType;
  shape: number[];
  encoding: WeightEncoding;
  quantization?: Quantization;
  /** int4: the float16 scale buffer (written right after the weights), its shape [rows, blocks] and the block size. */
  blockwise?: { scalesBuffer: number; scalesShape: number[]; blockSize: number };
}

export class WeightTable {
  private readonly registered = new Map<string, RegisteredWeight>();
  readonly reader = new SafetensorsReader();

  constructor(
    private readonly graph: ModelGraph,
    private readonly model: SafetensorsModel,
    private readonly pool: EncodePool,
    /** Values per block of the int4 encoding (the recipe's 32 or 128). */
    private readonly int4BlockSize = 32,
  ) {}

  has(name: string): boolean {
    return this.model.byName.has(name);
  }

  shapeOf(name: string): number[] {
    return this.entry(name).entry.shape;
  }

  /** Registers (once) a tensor under an encoding (int4 with its block size); rank-1 tensors and biases stay float32. */
  weight(name: string, encoding: WeightEncoding, expectedShape: number[], blockSize = this.int4BlockSize): RegisteredWeight {
    const key = `${name}@${encoding}${encoding === 'int4' ? blockSize : ''}`;
    const existing = this.registered.get(key);
    if (existing) return existing;
    const { file, entry } = this.entry(name);
    if (entry.shape.length !== expectedShape.length || entry.shape.some((d, i) => d !== expectedShape[i])) {
      throw new WorkbenchError('bad_checkpoint', `${name} has shape [${entry.shape.join(', ')}]; config.json implies [${expectedShape.join(', ')}].`, { tensor: name });
    }
    if (!isFloatDtype(entry.dtype)) {
      throw new WorkbenchError('bad_checkpoint', `${name} is ${entry.dtype}; the native converter reads F32, F16 and BF16 checkpoints (dequantize it first).`, { tensor: name });
    }
    const rowLength = entry.shape.length === 1 ? entry.shape[0]! : entry.shape.slice(1).reduce((a, b) => a * b, 1);
    const rows = entry.elementCount / rowLength;
    const quantization: Quantization | undefined = encoding === 'int8' ? { scaleCount: rows, scales: null, quantizedDimension: 0 } : undefined;
    const int4 = encoding === 'int4';
    if (int4) checkBlockable(name, rowLength, blockSize);
    const scaleBytes = int4 ? ((rows * rowLength) / blockSize) * 2 : rows * 4;
    let blockScales: Uint16Array | null = null;
    const sourceBytes = floatDtypeBytes(entry.dtype);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_SOURCE_BYTES / (rowLength * sourceBytes)));
    const reader = this.reader;
    const pool = this.pool;
    const buffers = (rawBytes: number, encodedBytes: number) => this.chunkBuffers(rawBytes, encodedBytes);
    const buffer = this.graph.streamedBuffer({
      label: name,
      byteLength: entry.elementCount * ENCODING_BYTES[encoding],
      async produce(emit) {
        const bytesOut = ENCODING_BYTES[encoding];
        const scales = quantization || int4 ? (pool.shared ? new SharedArrayBuffer(scaleBytes) : new ArrayBuffer(scaleBytes)) : null;
        const maxChunkRows = Math.min(rows, rowsPerChunk);
        // Two of everything: the next chunk is read and the previous one written while this one is encoded.
        const { raw, encoded } = buffers(maxChunkRows * rowLength * sourceBytes, maxChunkRows * rowLength * bytesOut);
        // In-flight promises are awaited on the next turn; until then a rejection must not count as unhandled.
        const settled = <T>(promise: Promise<T>): Promise<T> => {
          promise.catch(() => undefined);
          return promise;
        };
        const read = (row: number, slot: number) => {
          const n = Math.min(rowsPerChunk, rows - row) * rowLength;
          return settled(reader.readRange(file, entry, new Uint8Array(raw[slot]!), row * rowLength * sourceBytes, n * sourceBytes));
        };
        let pendingRead = read(0, 0);
        let pendingWrite: Promise<void> = Promise.resolve();
        for (let row = 0, slot = 0; row < rows; row += rowsPerChunk, slot ^= 1) {
          const count = Math.min(rowsPerChunk, rows - row);
          await pendingRead;
          if (row + rowsPerChunk < rows) pendingRead = read(row + rowsPerChunk, slot ^ 1);
          // The write of two chunks ago used this slot's output buffer.
          await pendingWrite;
          await pool.encode({ tensor: name, dtype: entry.dtype as FloatDtype, encoding, rowLength, source: raw[slot]!, target: encoded[slot]!, scales, chunkRow: row, ...(int4 ? { blockSize } : {}) }, count);
          pendingWrite = settled(emit(new Uint8Array(encoded[slot]!, 0, count * rowLength * bytesOut)));
        }
        await pendingWrite;
        if (quantization) quantization.scales = new Float32Array(scales!);
        if (int4) blockScales = new Uint16Array(scales!);
      },
    });
    // int4 scales: a FLOAT16 tensor `<name>_scales` [rows, blocks] (what the quantizer adds), its buffer next in the file.
    const scalesBuffer = int4
      ? this.graph.streamedBuffer({
          label: `${name}_scales`,
          byteLength: scaleBytes,
          async produce(emit) {
            if (!blockScales) throw new Error(`${name}_scales is written before ${name}`);
            const bytes = new Uint8Array(blockScales.buffer, blockScales.byteOffset, blockScales.byteLength).slice();
            blockScales = null;
            await emit(bytes);
          },
        })
      : 0;
    const registered: RegisteredWeight = {
      name,
      buffer,
      type: encoding,
      shape: [...entry.shape],
      encoding,
      ...(quantization ? { quantization } : {}),
      ...(int4 ? { blockwise: { scalesBuffer, scalesShape: [rows, rowLength / blockSize], blockSize } } : {}),
    };
    this.registered.set(key, registered);
    return registered;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  private slots: { raw: (SharedArrayBuffer | ArrayBuffer)[]; encoded: (SharedArrayBuffer | ArrayBuffer)[] } | null = null;

  /**
   * The two source and two output chunk buffers, shared by every tensor (the
   * writer produces one tensor at a time): allocated once at the largest size
   * seen, so memory stays a few chunks whatever the model (fresh shared
   * buffers per tensor are reclaimed late and made the peak grow).
   */
  private chunkBuffers(rawBytes: number, encodedBytes: number) {
    const fits = (list: (SharedArrayBuffer | ArrayBuffer)[], bytes: number) => list.every((b) => b.byteLength >= bytes);
    if (!this.slots || !fits(this.slots.raw, rawBytes) || !fits(this.slots.encoded, encodedBytes)) {
      const alloc = (bytes: number) => (this.pool.shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
      const grow = (list: (SharedArrayBuffer | ArrayBuffer)[] | undefined, bytes: number) => [0, 1].map((i) => alloc(Math.max(bytes, list?.[i]?.byteLength ?? 0)));
      this.slots = { raw: grow(this.slots?.raw, rawBytes), encoded: grow(this.slots?.encoded, encodedBytes) };
    }
    return this.slots;
  }

  private entry(name: string) {
    const found = this.model.byName.get(name);
    if (!found) throw new WorkbenchError('missing_weights', `The checkpoint has no tensor ${name}, which config.json requires.`, { tensor: name });
    return found;
  }
}
