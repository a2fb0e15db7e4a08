/**
 * Writes TFLite flatbuffers shaped like AI Edge Torch / litert-torch LLM
 * exports (prefill_<N> and decode signatures, kv_cache_k_<i>/kv_cache_v_<i>
 * inputs, shared weight buffers), for reader, packager and benchmark inputs.
 * Real exports are gigabytes and need Python tooling absent here; these files
 * follow the same schema (resources/schema/schema.fbs) with tiny or sparse
 * weights. Two ways to make a file large without writing its bytes:
 *   - `externalWeightBytes`: weights after the flatbuffer (Buffer.offset/size,
 *     the > 2 GB layout), the file extended sparsely;
 *   - `inlineTailBytes`: one weight buffer inside the flatbuffer whose data
 *     vector is the last object of the file, grown sparsely after building.
 */
import { open } from 'node:fs/promises';
import { Builder } from 'flatbuffers';
import type { Offset } from 'flatbuffers';

export const TensorTypeId = { FLOAT32: 0, FLOAT16: 1, INT32: 2, INT8: 9, INT4: 17 } as const;
const Op = { ADD: 0, DEQUANTIZE: 6, FULLY_CONNECTED: 9, GATHER: 36, CUSTOM: 32, STABLEHLO_COMPOSITE: 206 } as const;

export interface SyntheticTfliteOptions {
  layers?: number;
  kvCacheMaxLen?: number;
  kvHeads?: number;
  headDim?: number;
  prefillLengths?: number[];
  kvLayout?: 'default' | 'transposed';
  /** Element type of the weight tensors. */
  weightType?: keyof typeof TensorTypeId;
  /** Number of weight tensors and bytes each (inline, tiny by default). */
  weightTensors?: number;
  weightBytesEach?: number;
  /** Add one DEQUANTIZE op per weight (weight-only quantization). */
  dequantize?: boolean;
  /** Store each weight outside the flatbuffer: total bytes after it (sparse). */
  externalWeightBytes?: number;
  /** One extra inline weight of this many bytes at the end of the file (sparse). */
  inlineTailBytes?: number;
  vocab?: number;
  description?: string;
  /** A `mask` input [1,1,T,S] in every signature (default true), from which the runtime reads the context length. */
  mask?: boolean;
  /** Updated KV caches as outputs: named like the inputs (default, what the runtime binds), with an `_out` suffix, or none. */
  kvOutputs?: 'same' | 'suffixed' | 'none';
}

export interface SyntheticTflite {
  fileBytes: number;
  flatbufferBytes: number;
}

export async function writeSyntheticTflite(path: string, options: SyntheticTfliteOptions = {}): Promise<SyntheticTflite> {
  const layers = options.layers ?? 2;
  const kvLen = options.kvCacheMaxLen ?? 1280;
  const kvHeads = options.kvHeads ?? 2;
  const headDim = options.headDim ?? 64;
  const prefill = options.prefillLengths ?? [128];
  const weightType = TensorTypeId[options.weightType ?? 'INT8'];
  const weightCount = options.weightTensors ?? 4;
  const weightBytes = options.weightBytesEach ?? 64;
  const vocab = options.vocab ?? 151936;
  const external = options.externalWeightBytes ?? 0;
  const tail = options.inlineTailBytes ?? 0;

  const b = new Builder(64 * 1024);
  const vec = (offsets: Offset[]): Offset => {
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  };
  const ints = (values: number[]): Offset => {
    b.startVector(4, values.length, 4);
    for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]!);
    return b.endVector();
  };
  const bytesVector = (length: number): Offset => {
    b.startVector(1, length, 16);
    for (let i = length - 1; i >= 0; i--) b.addInt8(i & 0x7f);
    return b.endVector();
  };

  // Created first so it ends up last in the file (flatbuffers build back to front).
  const tailData = tail > 0 ? bytesVector(16) : null;

  // Buffers: 0 is the conventional empty buffer, then one per weight.
  const bufferTables: Offset[] = [];
  b.startObject(3);
  bufferTables.push(b.endObject());
  const externalEach = external > 0 ? Math.floor(external / weightCount) : 0;
  for (let w = 0; w < weightCount; w++) {
    if (external > 0) {
      b.startObject(3);
      // Placeholder offsets; patched below once the flatbuffer size is known.
      b.addFieldInt64(1, BigInt(0x7fff0000 + w), 0n);
      b.addFieldInt64(2, BigInt(externalEach), 0n);
      bufferTables.push(b.endObject());
    } else {
      const data = bytesVector(weightBytes);
      b.startObject(3);
      b.addFieldOffset(0, data, 0);
      bufferTables.push(b.endObject());
    }
  }
  const tailBufferIndex = tailData !== null ? bufferTables.length : -1;
  if (tailData !== null) {
    b.startObject(3);
    b.addFieldOffset(0, tailData, 0);
    bufferTables.push(b.endObject());
  }
  const buffers = vec(bufferTables);

  const tensor = (name: string, type: number, shape: number[], buffer = 0, quantized = false): Offset => {
    const nameOffset = b.createString(name);
    const shapeOffset = ints(shape);
    let quantization = 0;
    if (quantized) {
      b.startVector(4, 1, 4);
      b.addFloat32(0.05);
      const scale = b.endVector();
      b.startObject(7);
      b.addFieldOffset(2, scale, 0);
      quantization = b.endObject();
    }
    b.startObject(11);
    b.addFieldOffset(0, shapeOffset, 0);
    b.addFieldInt8(1, type, 0);
    b.addFieldInt32(2, buffer, 0);
    b.addFieldOffset(3, nameOffset, 0);
    if (quantization) b.addFieldOffset(4, quantization, 0);
    return b.endObject();
  };
  const kvShape = (which: 'k' | 'v'): number[] =>
    options.kvLayout === 'transposed'
      ? which === 'k'
        ? [1, kvHeads, kvLen, headDim]
        : [1, kvHeads, headDim, kvLen]
      : [1, kvLen, kvHeads, headDim];

  // Operator codes: FULLY_CONNECTED, DEQUANTIZE, GATHER, a custom op and an op above 127.
  const codes: Offset[] = [];
  const opcode = (builtin: number, custom?: string): number => {
    const customOffset = custom ? b.createString(custom) : 0;
    b.startObject(4);
    b.addFieldInt8(0, Math.min(builtin, 127), 0);
    if (customOffset) b.addFieldOffset(1, customOffset, 0);
    b.addFieldInt32(3, builtin, 0);
    codes.push(b.endObject());
    return codes.length - 1;
  };
  const fc = opcode(Op.FULLY_CONNECTED);
  const dq = opcode(Op.DEQUANTIZE);
  const gather = opcode(Op.GATHER);
  const custom = opcode(Op.CUSTOM, 'odml.update_kv_cache');
  const composite = opcode(Op.STABLEHLO_COMPOSITE);
  const operatorCodes = vec(codes);

  const operator = (code: number, inputs: number[], outputs: number[]): Offset => {
    const i = ints(inputs);
    const o = ints(outputs);
    b.startObject(3);
    b.addFieldInt32(0, code, 0);
    b.addFieldOffset(1, i, 0);
    b.addFieldOffset(2, o, 0);
    return b.endObject();
  };

  const quantizedWeights = weightType === TensorTypeId.INT8 || weightType === TensorTypeId.INT4;
  const signatureInputs: { name: string; index: number }[][] = [];
  const signatureOutputs: { name: string; index: number }[][] = [];
  const subgraph = (tokens: number, name: string): Offset => {
    const tensors: Offset[] = [];
    const inputs: { name: string; index: number }[] = [];
    const add = (t: Offset): number => tensors.push(t) - 1;
    inputs.push({ name: 'tokens', index: add(tensor('serving_tokens', TensorTypeId.INT32, [1, tokens])) });
    inputs.push({ name: 'input_pos', index: add(tensor('serving_input_pos', TensorTypeId.INT32, [tokens])) });
    if (options.mask !== false) inputs.push({ name: 'mask', index: add(tensor('serving_mask', TensorTypeId.FLOAT32, [1, 1, tokens, kvLen])) });
    const kvOutputs: { name: string; index: number }[] = [];
    for (let l = 0; l < layers; l++) {
      for (const which of ['k', 'v'] as const) {
        const name = `kv_cache_${which}_${l}`;
        const index = add(tensor(`serving_${name}`, TensorTypeId.FLOAT32, kvShape(which)));
        inputs.push({ name, index });
        if ((options.kvOutputs ?? 'same') !== 'none') kvOutputs.push({ name: options.kvOutputs === 'suffixed' ? `${name}_out` : name, index });
      }
    }
    const weightIndices: number[] = [];
    for (let w = 0; w < weightCount; w++) weightIndices.push(add(tensor(`weight_${w}`, weightType, [64, 16], 1 + w, quantizedWeights)));
    if (tailBufferIndex > 0) weightIndices.push(add(tensor('embedding_tail', weightType, [tail], tailBufferIndex, quantizedWeights)));
    const activation = add(tensor('activation', TensorTypeId.FLOAT32, [1, tokens, 64]));
    const logits = add(tensor('logits', TensorTypeId.FLOAT32, [1, tokens, vocab]));
    const ops: Offset[] = [operator(gather, [weightIndices[0] ?? 0, 0], [activation])];
    for (const w of weightIndices) {
      if (options.dequantize) ops.push(operator(dq, [w], [activation]));
      ops.push(operator(fc, [activation, w], [activation]));
    }
    ops.push(operator(custom, [activation], [activation]));
    ops.push(operator(composite, [activation], [logits]));
    signatureInputs.push(inputs);
    signatureOutputs.push([{ name: 'logits', index: logits }, ...kvOutputs]);
    const tensorVector = vec(tensors);
    const inputVector = ints(inputs.map((i) => i.index));
    const outputVector = ints([logits]);
    const opVector = vec(ops);
    const nameOffset = b.createString(name);
    b.startObject(6);
    b.addFieldOffset(0, tensorVector, 0);
    b.addFieldOffset(1, inputVector, 0);
    b.addFieldOffset(2, outputVector, 0);
    b.addFieldOffset(3, opVector, 0);
    b.addFieldOffset(4, nameOffset, 0);
    return b.endObject();
  };
  const keys = [...prefill.map((n) => `prefill_${n}`), 'decode'];
  const subgraphs = vec([...prefill.map((n, i) => subgraph(n, keys[i]!)), subgraph(1, 'decode')]);

  const tensorMaps = (maps: { name: string; index: number }[]): Offset =>
    vec(
      maps.map((m) => {
        const name = b.createString(m.name);
        b.startObject(2);
        b.addFieldOffset(0, name, 0);
        b.addFieldInt32(1, m.index, 0);
        return b.endObject();
      }),
    );
  const signatures = vec(
    keys.map((key, i) => {
      const inputs = tensorMaps(signatureInputs[i]!);
      const outputs = tensorMaps(signatureOutputs[i]!);
      const keyOffset = b.createString(key);
      b.startObject(5);
      b.addFieldOffset(0, inputs, 0);
      b.addFieldOffset(1, outputs, 0);
      b.addFieldOffset(2, keyOffset, 0);
      b.addFieldInt32(4, i, 0);
      return b.endObject();
    }),
  );
  const metaName = b.createString('min_runtime_version');
  b.startObject(2);
  b.addFieldOffset(0, metaName, 0);
  const metadata = vec([b.endObject()]);
  const description = b.createString(options.description ?? 'Synthetic LLM export (test fixture).');

  b.startObject(10);
  b.addFieldInt32(0, 3, 0);
  b.addFieldOffset(1, operatorCodes, 0);
  b.addFieldOffset(2, subgraphs, 0);
  b.addFieldOffset(3, description, 0);
  b.addFieldOffset(4, buffers, 0);
  b.addFieldOffset(6, metadata, 0);
  b.addFieldOffset(7, signatures, 0);
  b.finish(b.endObject(), 'TFL3');
  const bytes = b.asUint8Array().slice();

  let fileBytes = bytes.byteLength;
  if (external > 0) {
    // Patch the placeholder offsets: weights follow the flatbuffer, 16-byte aligned.
    const view = new DataView(bytes.buffer);
    const start = Math.ceil(bytes.byteLength / 16) * 16;
    for (let w = 0; w < weightCount; w++) {
      const at = findU64(bytes, BigInt(0x7fff0000 + w));
      view.setBigUint64(at, BigInt(start + w * externalEach), true);
    }
    fileBytes = start + weightCount * externalEach;
  }
  if (tail > 0) {
    // The tail vector's 16 data bytes end the buffer; grow its length in place.
    if (!bytes.subarray(bytes.byteLength - 16).every((v, i) => v === i)) {
      throw new Error('synthetic tflite: the tail vector is not the last object');
    }
    new DataView(bytes.buffer).setUint32(bytes.byteLength - 20, tail, true);
    fileBytes = bytes.byteLength - 16 + tail;
  }
  const handle = await open(path, 'w');
  try {
    await handle.write(bytes, 0, bytes.byteLength, 0);
    if (fileBytes > bytes.byteLength) await handle.truncate(fileBytes);
  } finally {
    await handle.close();
  }
  return { fileBytes, flatbufferBytes: bytes.byteLength };
}

function findU64(bytes: Uint8Array, value: bigint): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i + 8 <= bytes.byteLength; i += 4) {
    if (view.getBigUint64(i, true) === value) return i;
  }
  throw new Error(`synthetic tflite: placeholder ${value} not found`);
}
