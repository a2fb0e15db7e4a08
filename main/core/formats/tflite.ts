/**
 * Header-only reader for TFLite / LiteRT flatbuffer models (.tflite), used on
 * its own and for the model embedded in a .litertlm (read in place at its
 * section offset). Reports signatures with tensor types and shapes, tensors
 * grouped by type, the op histogram and where buffer data lives, and derives
 * what the packager and the fidelity analyzer need: the KV-cache length,
 * prefill lengths and the quantization scheme.
 *
 * Accessors are hand-written over `FbTable` (flatbuffer.ts) rather than
 * generated with flatc: we read ten tables of a schema whose generated
 * TypeScript is ~250 files (every builtin-options table), the field ids
 * below are checked against resources/schema/schema.fbs in the tests, and
 * the paged, bounds-checked buffer must be used for >2 GB files anyway.
 */
import { closeSync, fstatSync } from 'node:fs';
import { FormatErrorCode } from '../../common/formats.js';
import type { QuantScheme, QuantizationEntry, SignatureSummary, TensorInfo, TfliteSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import { enumName, fbsEnum } from './fbsEnums.js';
import { FbTable, FlatbufferRangeError, WindowByteBuffer } from './flatbuffer.js';
import { notFound } from './reader.js';
import { openRegularFileSync } from '../files/regularFile.js';
import type { FormatReader, PathProbe } from './reader.js';

/** Field ids (declaration order) of the tables we read, from tflite schema.fbs. */
export const TFLITE_FIELDS = {
  Model: { version: 0, operator_codes: 1, subgraphs: 2, description: 3, buffers: 4, metadata: 6, signature_defs: 7, external_buffers: 9 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, shape_signature: 7, external_buffer: 10 },
  QuantizationParameters: { scale: 2, details_type: 4 },
  Buffer: { data: 0, offset: 1, size: 2 },
  ExternalBuffer: { id: 0, length: 3 },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, builtin_code: 3 },
  Operator: { opcode_index: 0, inputs: 1, outputs: 2 },
  Metadata: { name: 0 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, subgraph_index: 4 },
  TensorMap: { name: 0, tensor_index: 1 },
} as const;

const F = TFLITE_FIELDS;
const IDENTIFIER = 'TFL3';
/** BuiltinOperator.CUSTOM: the op name is the operator code's custom_code. */
const CUSTOM_OP = 32;
/** BuiltinOperator values below this are also stored in deprecated_builtin_code (schema 3a). */
const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

export const tfliteFormat: FormatReader<TfliteSummary> = {
  format: 'tflite',
  match(probe: PathProbe): boolean {
    return !probe.isDirectory && probe.head.length >= 8 && new TextDecoder().decode(probe.head.subarray(4, 8)) === IDENTIFIER;
  },
  open: async (path: string) => readTflite(path),
};

/** Reads a standalone .tflite file. */
export function readTflite(path: string): TfliteSummary {
  let fd: number;
  try {
    fd = openRegularFileSync(path);
  } catch (error) {
    throw notFound(path, error);
  }
  try {
    return readTfliteAt(fd, path, 0, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a .tflite stored at [base, base + size) of an open file: the whole
 * file, or a TFLiteModel section of a .litertlm. Only the metadata pages are
 * read, never the weights.
 */
export function readTfliteAt(fd: number, path: string, base: number, size: number): TfliteSummary {
  const where = base === 0 ? path : `the model at offset ${base} of ${path}`;
  if (size < 8) {
    throw new WorkbenchError(FormatErrorCode.truncated, `${where} is only ${size} bytes long, too short for a TFLite model.`, { path, base });
  }
  const bb = WindowByteBuffer.fromFile(fd, base, size);
  const identifier = new TextDecoder().decode(bb.slice(4, 4));
  if (identifier !== IDENTIFIER) {
    throw new WorkbenchError(FormatErrorCode.badMagic, `${where} is not a TFLite model (file identifier "${printable(identifier)}", expected "${IDENTIFIER}").`, { path, base });
  }
  let model: FbTable;
  try {
    model = FbTable.root(bb);
  } catch (error) {
    if (error instanceof FlatbufferRangeError) {
      throw new WorkbenchError(FormatErrorCode.corrupt, `${where} is not a valid TFLite model: its root table points outside the file.`, { path, base });
    }
    throw error;
  }
  try {
    return summarise(model, path, base, size);
  } catch (error) {
    if (error instanceof FlatbufferRangeError) {
      // The root table was sound, so an offset past the end means the file was cut short.
      const pastEnd = error.offset >= 0 && error.offset + error.length > error.capacity;
      throw new WorkbenchError(
        pastEnd ? FormatErrorCode.truncated : FormatErrorCode.corrupt,
        pastEnd
          ? `${where} is truncated: its flatbuffer refers to byte ${error.offset + error.length} but the model has ${error.capacity} bytes.`
          : `${where} is not a valid TFLite model: a table offset is invalid (${error.message}).`,
        { path, base },
      );
    }
    throw error;
  }
}

interface BufferInfo {
  inlineBytes: number;
  externalOffset: number | null;
  externalBytes: number;
}

function summarise(model: FbTable, path: string, base: number, size: number): TfliteSummary {
  const tensorTypes = fbsEnum('schema.fbs', 'TensorType');
  const builtinOps = fbsEnum('schema.fbs', 'BuiltinOperator');

  const buffers: BufferInfo[] = model.tables(F.Model.buffers).map((buffer) => {
    const offset = Number(buffer.uint64(F.Buffer.offset));
    const external = offset > 1;
    return {
      inlineBytes: buffer.vectorLength(F.Buffer.data),
      externalOffset: external ? offset : null,
      externalBytes: external ? Number(buffer.uint64(F.Buffer.size)) : 0,
    };
  });
  // Structure the runtime relies on, checked before anything is reported: a cut-short file or a flipped
  // bit in an offset, an index or a length would otherwise read as a plausible model (issue 18, item 10).
  const where = base === 0 ? path : `the model at offset ${base} of ${path}`;
  const corrupt = (what: string): WorkbenchError => new WorkbenchError(FormatErrorCode.corrupt, `${where} is not a valid TFLite model: ${what}.`, { path, base });
  buffers.forEach((buffer, index) => {
    if (buffer.externalOffset === null) return;
    const end = buffer.externalOffset + buffer.externalBytes;
    if (!Number.isSafeInteger(end) || end > size) {
      throw new WorkbenchError(
        FormatErrorCode.truncated,
        `${where} is cut short or damaged: weight buffer ${index} lies at bytes ${buffer.externalOffset}–${end}, but the model has ${size} bytes.`,
        { path, base, buffer: index },
      );
    }
  });
  const externalBufferBytes = new Map<number, number>();
  for (const ext of model.tables(F.Model.external_buffers)) {
    externalBufferBytes.set(ext.uint32(F.ExternalBuffer.id), Number(ext.uint64(F.ExternalBuffer.length)));
  }

  const opNames = model.tables(F.Model.operator_codes).map((code) => {
    const builtin = Math.max(code.int8(F.OperatorCode.deprecated_builtin_code), code.int32(F.OperatorCode.builtin_code));
    if (builtin === CUSTOM_OP) return code.string(F.OperatorCode.custom_code) ?? 'CUSTOM';
    return enumName(builtinOps, builtin === PLACEHOLDER_FOR_GREATER_OP_CODES ? code.int32(F.OperatorCode.builtin_code) : builtin, 'BUILTIN_');
  });

  const histogram = new Map<string, number>();
  const byType = new Map<string, QuantizationEntry>();
  let tensorCount = 0;
  let operatorCount = 0;
  let nonConstantInt8 = 0;
  let nonConstantFloat = 0;
  const countedBuffers = new Set<string>();
  const subgraphs = model.tables(F.Model.subgraphs);
  subgraphs.forEach((subgraph, s) => {
    const tensors = subgraph.vectorLength(F.SubGraph.tensors);
    const badIndex = (list: number[]) => list.find((i) => i < -1 || i >= tensors);
    const io = badIndex([...subgraph.int32s(F.SubGraph.inputs), ...subgraph.int32s(F.SubGraph.outputs)]);
    if (io !== undefined) throw corrupt(`subgraph ${s} names tensor ${io} among its inputs or outputs, but has ${tensors} tensors`);
    subgraph.tables(F.SubGraph.operators).forEach((op, o) => {
      const opcode = op.uint32(F.Operator.opcode_index);
      if (opcode >= opNames.length) throw corrupt(`operator ${o} of subgraph ${s} uses operator code ${opcode}, but the model has ${opNames.length}`);
      const bad = badIndex([...op.int32s(F.Operator.inputs), ...op.int32s(F.Operator.outputs)]);
      if (bad !== undefined) throw corrupt(`operator ${o} of subgraph ${s} uses tensor ${bad}, but the subgraph has ${tensors} tensors`);
    });
    subgraph.tables(F.SubGraph.tensors).forEach((tensor, t) => {
      const buffer = tensor.uint32(F.Tensor.buffer);
      if (buffer >= buffers.length) throw corrupt(`tensor ${t} of subgraph ${s} uses buffer ${buffer}, but the model has ${buffers.length} buffers`);
    });
  });
  for (const def of model.tables(F.Model.signature_defs)) {
    const index = def.uint32(F.SignatureDef.subgraph_index);
    const subgraph = subgraphs[index];
    if (!subgraph) throw corrupt(`signature "${def.string(F.SignatureDef.signature_key) ?? ''}" names subgraph ${index}, but the model has ${subgraphs.length}`);
    const tensors = subgraph.vectorLength(F.SubGraph.tensors);
    for (const map of [...def.tables(F.SignatureDef.inputs), ...def.tables(F.SignatureDef.outputs)]) {
      const tensorIndex = map.uint32(F.TensorMap.tensor_index);
      if (tensorIndex >= tensors) throw corrupt(`signature "${def.string(F.SignatureDef.signature_key) ?? ''}" names tensor ${tensorIndex}, but its subgraph has ${tensors}`);
    }
  }

  for (const subgraph of subgraphs) {
    for (const op of subgraph.tables(F.SubGraph.operators)) {
      const name = opNames[op.uint32(F.Operator.opcode_index)] ?? 'UNKNOWN_OPCODE';
      histogram.set(name, (histogram.get(name) ?? 0) + 1);
      operatorCount++;
    }
    for (const tensor of subgraph.tables(F.SubGraph.tensors)) {
      tensorCount++;
      const type = enumName(tensorTypes, tensor.int8(F.Tensor.type), 'TYPE_');
      const entry = byType.get(type) ?? { type, tensorCount: 0, constantCount: 0, constantBytes: 0, quantizedCount: 0 };
      entry.tensorCount++;
      const bufferIndex = tensor.uint32(F.Tensor.buffer);
      const buffer = buffers[bufferIndex];
      const externalId = tensor.uint32(F.Tensor.external_buffer);
      const bytes = externalId > 0 ? (externalBufferBytes.get(externalId) ?? 0) : buffer ? buffer.inlineBytes + buffer.externalBytes : 0;
      if (bytes > 0) {
        // Prefill and decode subgraphs share their weight buffers: count each buffer once.
        const key = externalId > 0 ? `x${externalId}` : `b${bufferIndex}`;
        if (!countedBuffers.has(key)) {
          countedBuffers.add(key);
          entry.constantCount++;
          entry.constantBytes += bytes;
        }
      } else if (type === 'INT8' || type === 'UINT8' || type === 'INT16') {
        nonConstantInt8++;
      } else if (type === 'FLOAT32' || type === 'FLOAT16') {
        nonConstantFloat++;
      }
      const quantization = tensor.table(F.Tensor.quantization);
      if (quantization && (quantization.vectorLength(F.QuantizationParameters.scale) > 0 || quantization.uint8(F.QuantizationParameters.details_type) !== 0)) {
        entry.quantizedCount++;
      }
      byType.set(type, entry);
    }
  }

  const tensorInfo = (subgraph: FbTable | undefined, alias: string | null, index: number): TensorInfo => {
    const tensor = subgraph?.tableAt(F.SubGraph.tensors, index) ?? null;
    if (!tensor) return { name: alias ?? `#${index}`, type: 'UNKNOWN', shape: [], shapeSignature: null };
    return {
      name: alias ?? tensor.string(F.Tensor.name) ?? `#${index}`,
      type: enumName(tensorTypes, tensor.int8(F.Tensor.type), 'TYPE_'),
      shape: tensor.int32s(F.Tensor.shape),
      shapeSignature: tensor.has(F.Tensor.shape_signature) ? tensor.int32s(F.Tensor.shape_signature) : null,
    };
  };
  let signatures: SignatureSummary[] = model.tables(F.Model.signature_defs).map((def) => {
    const subgraphIndex = def.uint32(F.SignatureDef.subgraph_index);
    const subgraph = subgraphs[subgraphIndex];
    const maps = (field: number): TensorInfo[] =>
      def.tables(field).map((map) => tensorInfo(subgraph, map.string(F.TensorMap.name), map.uint32(F.TensorMap.tensor_index)));
    return { key: def.string(F.SignatureDef.signature_key) ?? '', subgraphIndex, inputs: maps(F.SignatureDef.inputs), outputs: maps(F.SignatureDef.outputs) };
  });
  if (signatures.length === 0 && subgraphs[0]) {
    // Models without signature defs: describe the main subgraph's inputs/outputs.
    const main = subgraphs[0];
    signatures = [
      {
        key: main.string(F.SubGraph.name) ?? '<main subgraph>',
        subgraphIndex: 0,
        inputs: main.int32s(F.SubGraph.inputs).map((i) => tensorInfo(main, null, i)),
        outputs: main.int32s(F.SubGraph.outputs).map((i) => tensorInfo(main, null, i)),
      },
    ];
  }

  const externalOffsets = buffers.flatMap((b) => (b.externalOffset === null ? [] : [b.externalOffset]));
  const quantization = [...byType.values()].sort((a, b) => b.constantBytes - a.constantBytes || b.tensorCount - a.tensorCount);
  const ops = [...histogram.entries()].map(([op, count]) => ({ op, count })).sort((a, b) => b.count - a.count || a.op.localeCompare(b.op));
  const kv = kvCache(signatures);
  const scheme = quantScheme(quantization, histogram.get('DEQUANTIZE') ?? 0, nonConstantInt8, nonConstantFloat);

  return {
    format: 'tflite',
    path,
    baseOffset: base,
    sizeBytes: size,
    schemaVersion: model.uint32(F.Model.version),
    description: model.string(F.Model.description),
    subgraphCount: subgraphs.length,
    tensorCount,
    operatorCount,
    signatures,
    quantization,
    ops,
    buffers: {
      count: buffers.length,
      inlineBytes: buffers.reduce((sum, b) => sum + b.inlineBytes, 0),
      externalCount: externalOffsets.length + externalBufferBytes.size,
      externalBytes: buffers.reduce((sum, b) => sum + b.externalBytes, 0) + [...externalBufferBytes.values()].reduce((a, b) => a + b, 0),
      flatbufferBytes: externalOffsets.length > 0 ? Math.min(...externalOffsets) : size,
    },
    metadataNames: model.tables(F.Model.metadata).map((m) => m.string(F.Metadata.name) ?? ''),
    derived: {
      kvCacheMaxLen: kv.maxLen,
      kvCacheLayers: kv.layers,
      prefillLengths: prefillLengths(signatures),
      hasDecodeSignature: signatures.some((s) => /^decode/.test(s.key)),
      quantScheme: scheme.scheme,
      quantEvidence: scheme.evidence,
    },
  };
}

const KV_INPUT = /^kv_cache_([kv])_(\d+)$/;

/**
 * kv_cache_max_len from the KV-cache inputs (AI Edge Torch / litert-torch
 * exports). Layouts (litert_torch/generative/layers/kv_cache.py): default
 * K and V both [batch, T, heads, head_dim]; transposed K [batch, heads, T,
 * head_dim] and V [batch, heads, head_dim, T].
 */
function kvCache(signatures: SignatureSummary[]): { maxLen: number | null; layers: number } {
  const ordered = [...signatures].sort((a, b) => Number(b.key.startsWith('decode')) - Number(a.key.startsWith('decode')));
  for (const signature of ordered) {
    const k = new Map<number, number[]>();
    const v = new Map<number, number[]>();
    for (const input of signature.inputs) {
      const m = KV_INPUT.exec(input.name);
      if (m) (m[1] === 'k' ? k : v).set(Number(m[2]), input.shape);
    }
    if (k.size === 0) continue;
    const kShape = k.get(Math.min(...k.keys()))!;
    const vShape = v.get(Math.min(...k.keys())) ?? kShape;
    let maxLen: number | null = null;
    if (kShape.length === 4 && vShape.length === 4) {
      const same = kShape.every((d, i) => d === vShape[i]);
      if (same) maxLen = kShape[1] ?? null;
      else if (kShape[2] === vShape[3] && kShape[3] === vShape[2]) maxLen = kShape[2] ?? null;
    }
    return { maxLen, layers: k.size };
  }
  return { maxLen: null, layers: 0 };
}

/** prefill_<N> signatures give N; a bare "prefill" gives its token input's length. */
function prefillLengths(signatures: SignatureSummary[]): number[] {
  const lengths = new Set<number>();
  for (const signature of signatures) {
    const named = /^prefill_(\d+)$/.exec(signature.key);
    if (named) {
      lengths.add(Number(named[1]));
    } else if (signature.key.startsWith('prefill')) {
      const tokens = signature.inputs.find((i) => i.name === 'tokens' || i.name === 'input_tokens');
      const length = tokens?.shape[tokens.shape.length - 1];
      if (length !== undefined && length > 0) lengths.add(length);
    }
  }
  return [...lengths].sort((a, b) => a - b);
}

function quantScheme(
  entries: QuantizationEntry[],
  dequantizeOps: number,
  nonConstantInt8: number,
  nonConstantFloat: number,
): { scheme: QuantScheme; evidence: string } {
  const total = entries.reduce((sum, e) => sum + e.constantBytes, 0);
  const top = entries[0];
  if (total === 0 || !top || top.constantBytes === 0) {
    return { scheme: 'unknown', evidence: 'The model stores no constant tensors, so there are no weights to classify.' };
  }
  const share = top.constantBytes / total;
  const pct = `${Math.round(share * 100)}%`;
  const weights = `${top.type} constants hold ${pct} of the ${formatBytes(total)} of weights`;
  if (share < 0.8) {
    const mix = entries.filter((e) => e.constantBytes / total >= 0.05).map((e) => `${e.type} ${Math.round((e.constantBytes / total) * 100)}%`);
    return { scheme: 'mixed', evidence: `No single weight type dominates (${mix.join(', ')}).` };
  }
  switch (top.type) {
    case 'FLOAT32':
      return { scheme: 'float32', evidence: `${weights}: the model is not quantized.` };
    case 'FLOAT16':
    case 'BFLOAT16':
      return { scheme: 'float16', evidence: `${weights}: half-precision weights, computed in float.` };
    case 'INT4':
    case 'UINT4':
      return { scheme: 'dynamic_int4', evidence: `${weights}, with float activations: 4-bit weights quantized dynamically at run time.` };
    case 'INT8':
    case 'UINT8': {
      if (nonConstantInt8 > nonConstantFloat) {
        return { scheme: 'static_int8', evidence: `${weights} and most activations are 8-bit too: fully (static) int8 quantized.` };
      }
      if (dequantizeOps >= top.constantCount / 2) {
        return { scheme: 'weight_only_int8', evidence: `${weights}; ${dequantizeOps} DEQUANTIZE ops turn them back into float before use: weight-only int8.` };
      }
      return { scheme: 'dynamic_int8', evidence: `${weights} and activations are float, with no DEQUANTIZE ops: dynamic-range int8.` };
    }
    default:
      return { scheme: 'unknown', evidence: `${weights}, a type this reader does not classify.` };
  }
}

function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
