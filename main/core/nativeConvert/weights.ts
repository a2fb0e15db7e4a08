/**
 * The model's weights as streamed buffers of the TFLite writer: each Hugging
 * Face tensor is read from its safetensors file a few megabytes of rows at a
 * time, decoded to float32 (F32, F16 or BF16 sources), checked for NaN/Inf,
 * encoded (quantize.ts) and handed to the writer. A tensor is registered once
 * and shared by every signature (and by the embedding and a tied lm_head).
 */
import { WorkbenchError } from '../../common/errors.js';
import { decodeToF32, floatDtypeBytes, isFloatDtype } from '../safetensors/dtypes.js';
import type { SafetensorsModel } from '../safetensors/header.js';
import { SafetensorsReader } from '../safetensors/reader.js';
import type { ModelGraph, Quantization, TensorType } from '../tfliteWriter/graph.js';
import { checkFinite, encodeFloat16, ENCODING_BYTES, quantizeBf16RowsInt8, quantizeRowsInt8, type WeightEncoding } from './quantize.js';

/** Source bytes read per chunk: bounds the converter's memory whatever the tensor size. */
export const CHUNK_SOURCE_BYTES = 8 << 20;

export interface RegisteredWeight {
  name: string;
  buffer: number;
  type: TensorType;
  shape: number[];
  encoding: WeightEncoding;
  quantization?: Quantization;
}

export class WeightTable {
  private readonly registered = new Map<string, RegisteredWeight>();
  readonly reader = new SafetensorsReader();

  constructor(
    private readonly graph: ModelGraph,
    private readonly model: SafetensorsModel,
  ) {}

  has(name: string): boolean {
    return this.model.byName.has(name);
  }

  shapeOf(name: string): number[] {
    return this.entry(name).entry.shape;
  }

  /** Registers (once) a tensor under an encoding; rank-1 tensors and biases stay float32. */
  weight(name: string, encoding: WeightEncoding, expectedShape: number[]): RegisteredWeight {
    const key = `${name}@${encoding}`;
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
    const sourceBytes = floatDtypeBytes(entry.dtype);
    const rowsPerChunk = Math.max(1, Math.floor(CHUNK_SOURCE_BYTES / (rowLength * sourceBytes)));
    const reader = this.reader;
    const buffer = this.graph.streamedBuffer({
      label: name,
      byteLength: entry.elementCount * ENCODING_BYTES[encoding],
      async produce(emit) {
        const scales = quantization ? new Float32Array(rows) : null;
        const maxChunkRows = Math.min(rows, rowsPerChunk);
        const bytesOut = ENCODING_BYTES[encoding];
        const fusedBf16 = encoding === 'int8' && entry.dtype === 'BF16';
        // Two of everything: the next chunk is read and the previous one written while this one is encoded.
        const raw = [0, 1].map(() => new Uint8Array(maxChunkRows * rowLength * sourceBytes));
        const encoded = [0, 1].map(() => new Uint8Array(maxChunkRows * rowLength * bytesOut));
        const values = fusedBf16 ? null : new Float32Array(maxChunkRows * rowLength);
        // In-flight promises are awaited on the next turn; until then a rejection must not count as unhandled.
        const settled = <T>(promise: Promise<T>): Promise<T> => {
          promise.catch(() => undefined);
          return promise;
        };
        const read = (row: number, slot: number) => {
          const n = Math.min(rowsPerChunk, rows - row) * rowLength;
          return settled(reader.readRange(file, entry, raw[slot]!, row * rowLength * sourceBytes, n * sourceBytes));
        };
        let pendingRead = read(0, 0);
        let pendingWrite: Promise<void> = Promise.resolve();
        for (let row = 0, slot = 0; row < rows; row += rowsPerChunk, slot ^= 1) {
          const count = Math.min(rowsPerChunk, rows - row);
          const n = count * rowLength;
          const bytes = await pendingRead;
          if (row + rowsPerChunk < rows) pendingRead = read(row + rowsPerChunk, slot ^ 1);
          // The write of two chunks ago used this slot's output buffer.
          await pendingWrite;
          const out = encoded[slot]!.subarray(0, n * bytesOut);
          if (fusedBf16) {
            quantizeBf16RowsInt8(new Uint16Array(bytes.buffer, bytes.byteOffset, n), rowLength, new Int8Array(out.buffer, out.byteOffset, n), scales!, row, name, row);
          } else {
            const f32 = values!.subarray(0, n);
            decodeToF32(entry.dtype as 'F32' | 'F16' | 'BF16', bytes, f32);
            checkFinite(f32, name, row, rowLength);
            if (encoding === 'float32') out.set(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
            else if (encoding === 'float16') encodeFloat16(f32, new Uint16Array(out.buffer, out.byteOffset, n));
            else quantizeRowsInt8(f32, rowLength, new Int8Array(out.buffer, out.byteOffset, n), scales!, row);
          }
          pendingWrite = settled(emit(out));
        }
        await pendingWrite;
        if (quantization) quantization.scales = scales;
      },
    });
    const registered: RegisteredWeight = {
      name,
      buffer,
      type: encoding,
      shape: [...entry.shape],
      encoding,
      ...(quantization ? { quantization } : {}),
    };
    this.registered.set(key, registered);
    return registered;
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  private entry(name: string) {
    const found = this.model.byName.get(name);
    if (!found) throw new WorkbenchError('missing_weights', `The checkpoint has no tensor ${name}, which config.json requires.`, { tensor: name });
    return found;
  }
}
