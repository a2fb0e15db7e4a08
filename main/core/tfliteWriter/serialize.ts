/**
 * Builds the model's flatbuffer (everything but the weight bytes) with the
 * flatc-generated schema code. Buffer data always lives after the flatbuffer
 * (`Buffer.offset`/`size`, absolute file offsets), so the flatbuffer is
 * megabytes whatever the model size. The same graph serialised with other
 * offsets or other scale values has exactly the same length: that lets the
 * writer reserve the header, stream the weights, then write the final header
 * in place.
 */
import { Builder } from 'flatbuffers';
import {
  BlockwiseQuantization as TflBlockwiseQuantization,
  Buffer as TflBuffer,
  Model,
  Operator,
  OperatorCode,
  QuantizationDetails,
  QuantizationParameters,
  SignatureDef,
  SubGraph,
  Tensor,
  TensorMap,
  TensorType as TflTensorType,
} from './generated/tflite_schema.js';
import type { BlockwiseQuantization, ModelGraph, Quantization, TensorDef, TensorType } from './graph.js';
import { BUILTIN_CODE, opVersion, writeOptions, type OpKind } from './ops.js';

/** TFLite schema version 3 (the only one current runtimes read). */
const SCHEMA_VERSION = 3;
/** BuiltinOperator values above this go in `builtin_code` only (schema 3a). */
const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

const TYPE_CODE: Record<TensorType, TflTensorType> = {
  float32: TflTensorType.FLOAT32,
  float16: TflTensorType.FLOAT16,
  int32: TflTensorType.INT32,
  int8: TflTensorType.INT8,
  int4: TflTensorType.INT4,
  bool: TflTensorType.BOOL,
};

export interface BufferPlacement {
  offset: bigint;
  size: bigint;
}

/** A placeholder offset for the first pass: non-zero, so the field is written and the length is final. */
export const PLACEHOLDER_OFFSET = 1n << 40n;

export function serializeModel(graph: ModelGraph, placements: BufferPlacement[]): Uint8Array {
  const b = new Builder(1 << 20);

  // Operator codes: one per (op kind, version) used anywhere.
  const codeIndex = new Map<string, number>();
  const codes: { kind: OpKind; version: number }[] = [];
  const opCodeOf = (kind: OpKind, version: number): number => {
    const key = `${kind}@${version}`;
    let index = codeIndex.get(key);
    if (index === undefined) {
      index = codes.length;
      codes.push({ kind, version });
      codeIndex.set(key, index);
    }
    return index;
  };

  // Quantization tables are shared by every tensor with the same parameters object.
  const quantOffsets = new Map<Quantization | BlockwiseQuantization, number>();
  const quantization = (q: Quantization | BlockwiseQuantization): number => {
    let offset = quantOffsets.get(q);
    if (offset !== undefined) return offset;
    if ('kind' in q) {
      // As ai_edge_quantizer writes it: no scale/zero_point vectors, the details table, quantized_dimension 0.
      const details = TflBlockwiseQuantization.createBlockwiseQuantization(b, q.scales, -1, q.blockSize);
      QuantizationParameters.startQuantizationParameters(b);
      QuantizationParameters.addDetailsType(b, QuantizationDetails.BlockwiseQuantization);
      QuantizationParameters.addDetails(b, details);
      QuantizationParameters.addQuantizedDimension(b, 0);
      offset = QuantizationParameters.endQuantizationParameters(b);
      quantOffsets.set(q, offset);
      return offset;
    }
    const scales = q.scales ?? new Float32Array(q.scaleCount);
    if (scales.length !== q.scaleCount) throw new Error(`quantization has ${scales.length} scales, ${q.scaleCount} declared`);
    const scale = QuantizationParameters.createScaleVector(b, scales);
    const zeroPoint = QuantizationParameters.createZeroPointVector(b, new Array<bigint>(q.scaleCount).fill(0n));
    QuantizationParameters.startQuantizationParameters(b);
    QuantizationParameters.addScale(b, scale);
    QuantizationParameters.addZeroPoint(b, zeroPoint);
    QuantizationParameters.addQuantizedDimension(b, q.quantizedDimension);
    offset = QuantizationParameters.endQuantizationParameters(b);
    quantOffsets.set(q, offset);
    return offset;
  };

  const tensor = (t: TensorDef): number => {
    const name = b.createString(t.name);
    const shape = Tensor.createShapeVector(b, t.shape);
    const quant = t.quantization ? quantization(t.quantization) : 0;
    Tensor.startTensor(b);
    Tensor.addShape(b, shape);
    Tensor.addType(b, TYPE_CODE[t.type]);
    Tensor.addBuffer(b, t.buffer);
    Tensor.addName(b, name);
    if (quant) Tensor.addQuantization(b, quant);
    return Tensor.endTensor(b);
  };

  const subgraphOffsets: number[] = [];
  const signatureOffsets: number[] = [];
  graph.subgraphs.forEach((sg, subgraphIndex) => {
    const tensors = sg.tensors.map(tensor);
    const operators = sg.operators.map((op) => {
      // The type of a quantized constant input (int8 or int4 weights) decides the kernel version.
      const quantizedWeight = op.inputs
        .filter((i) => i >= 0) // an omitted optional input (e.g. no bias) is -1
        .map((i) => sg.tensor(i))
        .find((t) => (t.type === 'int8' || t.type === 'int4') && t.buffer !== 0);
      const opcode = opCodeOf(op.op.kind, opVersion(op.op, (quantizedWeight?.type as 'int8' | 'int4' | undefined) ?? null));
      const inputs = Operator.createInputsVector(b, op.inputs);
      const outputs = Operator.createOutputsVector(b, op.outputs);
      const options = writeOptions(b, op.op);
      Operator.startOperator(b);
      Operator.addOpcodeIndex(b, opcode);
      Operator.addInputs(b, inputs);
      Operator.addOutputs(b, outputs);
      if (options.offset) {
        Operator.addBuiltinOptionsType(b, options.type);
        Operator.addBuiltinOptions(b, options.offset);
      }
      return Operator.endOperator(b);
    });
    const tensorsVec = SubGraph.createTensorsVector(b, tensors);
    const inputsVec = SubGraph.createInputsVector(b, sg.inputs.map((s) => s.tensor));
    const outputsVec = SubGraph.createOutputsVector(b, sg.outputs.map((s) => s.tensor));
    const operatorsVec = SubGraph.createOperatorsVector(b, operators);
    const name = b.createString(sg.name);
    SubGraph.startSubGraph(b);
    SubGraph.addTensors(b, tensorsVec);
    SubGraph.addInputs(b, inputsVec);
    SubGraph.addOutputs(b, outputsVec);
    SubGraph.addOperators(b, operatorsVec);
    SubGraph.addName(b, name);
    subgraphOffsets.push(SubGraph.endSubGraph(b));

    const maps = (list: { name: string; tensor: number }[]) =>
      list.map((s) => {
        const n = b.createString(s.name);
        TensorMap.startTensorMap(b);
        TensorMap.addName(b, n);
        TensorMap.addTensorIndex(b, s.tensor);
        return TensorMap.endTensorMap(b);
      });
    const sigInputs = SignatureDef.createInputsVector(b, maps(sg.inputs));
    const sigOutputs = SignatureDef.createOutputsVector(b, maps(sg.outputs));
    const key = b.createString(sg.name);
    SignatureDef.startSignatureDef(b);
    SignatureDef.addInputs(b, sigInputs);
    SignatureDef.addOutputs(b, sigOutputs);
    SignatureDef.addSignatureKey(b, key);
    SignatureDef.addSubgraphIndex(b, subgraphIndex);
    signatureOffsets.push(SignatureDef.endSignatureDef(b));
  });

  const codeOffsets = codes.map(({ kind, version }) => {
    const builtin = BUILTIN_CODE[kind];
    OperatorCode.startOperatorCode(b);
    OperatorCode.addDeprecatedBuiltinCode(b, Math.min(builtin, PLACEHOLDER_FOR_GREATER_OP_CODES));
    OperatorCode.addVersion(b, version);
    OperatorCode.addBuiltinCode(b, builtin);
    return OperatorCode.endOperatorCode(b);
  });

  const bufferOffsets = graph.buffers.map((source, index) => {
    TflBuffer.startBuffer(b);
    if (source) {
      const placement = placements[index];
      if (!placement) throw new Error(`buffer ${index} has no placement`);
      TflBuffer.addOffset(b, placement.offset);
      TflBuffer.addSize(b, placement.size);
    }
    return TflBuffer.endBuffer(b);
  });

  const operatorCodes = Model.createOperatorCodesVector(b, codeOffsets);
  const subgraphs = Model.createSubgraphsVector(b, subgraphOffsets);
  const description = b.createString(graph.description);
  const buffers = Model.createBuffersVector(b, bufferOffsets);
  const signatures = Model.createSignatureDefsVector(b, signatureOffsets);
  Model.startModel(b);
  Model.addVersion(b, SCHEMA_VERSION);
  Model.addOperatorCodes(b, operatorCodes);
  Model.addSubgraphs(b, subgraphs);
  Model.addDescription(b, description);
  Model.addBuffers(b, buffers);
  Model.addSignatureDefs(b, signatures);
  Model.finishModelBuffer(b, Model.endModel(b));
  return b.asUint8Array();
}
