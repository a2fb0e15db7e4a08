/**
 * The in-memory description of a TFLite model before it is written: buffers,
 * and per subgraph its tensors, operators and signature. It knows the format's
 * vocabulary (tensor types, builtin ops, quantization) and nothing about
 * language models; graph builders (main/core/nativeConvert/) fill it, and
 * writeModel.ts turns it into a file.
 *
 * Weight buffers are not held here: each is a `StreamedBuffer` that says how
 * many bytes it will produce and produces them chunk by chunk when the writer
 * asks, so a model of any size is described in a few megabytes. Small constants
 * (shapes, axes, RoPE tables) are inline bytes, deduplicated by content so
 * every signature shares them.
 */
import { createHash } from 'node:crypto';
import type { OpOptions } from './ops.js';

export type TensorType = 'float32' | 'float16' | 'int32' | 'int8' | 'int4' | 'bool';

/** Bytes per element; int4 packs two elements per byte (the first in the low nibble). */
export const TENSOR_TYPE_BYTES: Record<TensorType, number> = { float32: 4, float16: 2, int32: 4, int8: 1, int4: 0.5, bool: 1 };

/** Per-channel (or per-tensor) affine quantization of a constant. */
export interface Quantization {
  /** Number of scales: 1 (per tensor) or the size of `quantizedDimension`. */
  scaleCount: number;
  /** Filled in by the buffer's producer when it has seen the data (before the header is finalised). */
  scales: Float32Array | null;
  quantizedDimension: number;
}

/**
 * Blockwise quantization (schema `BlockwiseQuantization`): every run of
 * `blockSize` elements along the last axis of each row has its own scale,
 * held in a FLOAT16 constant tensor of the same subgraph (`scales`, shape
 * [rows, columns / blockSize]); zero point 0 (the schema's -1). The scale
 * tensor is a subgraph index, so unlike affine parameters one object serves
 * one subgraph.
 */
export interface BlockwiseQuantization {
  kind: 'blockwise';
  scales: number;
  blockSize: number;
}

/** A buffer whose bytes are produced while the file is written. */
export interface StreamedBuffer {
  kind: 'streamed';
  /** For progress and errors, e.g. the source tensor name. */
  label: string;
  byteLength: number;
  /** Calls `emit` with consecutive chunks totalling exactly `byteLength` bytes. */
  produce(emit: (chunk: Uint8Array) => Promise<void>): Promise<void>;
}

export interface InlineBuffer {
  kind: 'inline';
  bytes: Uint8Array;
}

export type BufferSource = StreamedBuffer | InlineBuffer;

export interface TensorDef {
  name: string;
  type: TensorType;
  shape: number[];
  /** Index into ModelGraph.buffers; 0 = no data (activations, inputs). */
  buffer: number;
  quantization?: Quantization | BlockwiseQuantization;
}

export interface OperatorDef {
  op: OpOptions;
  inputs: number[];
  outputs: number[];
}

export interface SignatureTensor {
  name: string;
  tensor: number;
}

export class SubgraphBuilder {
  readonly tensors: TensorDef[] = [];
  readonly operators: OperatorDef[] = [];
  readonly inputs: SignatureTensor[] = [];
  readonly outputs: SignatureTensor[] = [];
  private readonly constantTensors = new Map<string, number>();

  constructor(
    readonly model: ModelGraph,
    readonly name: string,
  ) {}

  /** An activation (no data). */
  activation(name: string, type: TensorType, shape: number[]): number {
    return this.push({ name, type, shape: [...shape], buffer: 0 });
  }

  /** A tensor backed by a model buffer (weights shared between subgraphs). */
  constant(name: string, type: TensorType, shape: number[], buffer: number, quantization?: Quantization | BlockwiseQuantization): number {
    const key = `${buffer}|${type}|${shape.join(',')}|${name}`;
    const existing = this.constantTensors.get(key);
    if (existing !== undefined) return existing;
    const index = this.push({ name, type, shape: [...shape], buffer, ...(quantization ? { quantization } : {}) });
    this.constantTensors.set(key, index);
    return index;
  }

  /** A small int32 constant (shapes, axes, permutations), deduplicated model-wide. */
  int32(values: readonly number[], shape: number[] = [values.length]): number {
    const bytes = new Uint8Array(Int32Array.from(values).buffer);
    return this.constant(`const_i32_${values.join('_')}`, 'int32', shape, this.model.inlineBuffer(bytes));
  }

  /** A small float32 constant (epsilons, scales), deduplicated model-wide. */
  float32(values: Float32Array | readonly number[], shape: number[], name: string): number {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.constant(name, 'float32', shape, this.model.inlineBuffer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
  }

  input(name: string, type: TensorType, shape: number[]): number {
    const index = this.activation(name, type, shape);
    this.inputs.push({ name, tensor: index });
    return index;
  }

  output(name: string, tensor: number): void {
    this.outputs.push({ name, tensor });
  }

  /** Appends an operator writing a new activation tensor and returns it. */
  op(op: OpOptions, inputs: number[], output: { name: string; type?: TensorType; shape: number[] }): number {
    const out = this.activation(output.name, output.type ?? 'float32', output.shape);
    this.operators.push({ op, inputs, outputs: [out] });
    return out;
  }

  tensor(index: number): TensorDef {
    const tensor = this.tensors[index];
    if (!tensor) throw new RangeError(`tensor ${index} does not exist in ${this.name}`);
    return tensor;
  }

  private push(tensor: TensorDef): number {
    this.tensors.push(tensor);
    return this.tensors.length - 1;
  }
}

export class ModelGraph {
  /** Buffer 0 is the empty buffer every data-less tensor points at (a TFLite convention). */
  readonly buffers: (BufferSource | null)[] = [null];
  readonly subgraphs: SubgraphBuilder[] = [];
  private readonly inlineByHash = new Map<string, number>();

  constructor(readonly description: string) {}

  subgraph(name: string): SubgraphBuilder {
    const subgraph = new SubgraphBuilder(this, name);
    this.subgraphs.push(subgraph);
    return subgraph;
  }

  streamedBuffer(source: Omit<StreamedBuffer, 'kind'>): number {
    this.buffers.push({ kind: 'streamed', ...source });
    return this.buffers.length - 1;
  }

  inlineBuffer(bytes: Uint8Array): number {
    const key = createHash('sha1').update(bytes).digest('hex');
    const existing = this.inlineByHash.get(key);
    if (existing !== undefined) return existing;
    this.buffers.push({ kind: 'inline', bytes: bytes.slice() });
    this.inlineByHash.set(key, this.buffers.length - 1);
    return this.buffers.length - 1;
  }
}
