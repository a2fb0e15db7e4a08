/**
 * The builtin operators the graph builders use, with their options, and how
 * each is serialised through the flatc-generated schema code. Adding an op
 * means one union member and one case: the writer stays format-only.
 */
import type { Builder, Offset } from 'flatbuffers';
import {
  ActivationFunctionType,
  AddOptions,
  BatchMatMulOptions,
  BuiltinOperator,
  BuiltinOptions,
  ConcatenationOptions,
  DequantizeOptions,
  DynamicUpdateSliceOptions,
  FullyConnectedOptions,
  GatherOptions,
  MulOptions,
  NegOptions,
  ReducerOptions,
  ReshapeOptions,
  SliceOptions,
  SoftmaxOptions,
  TransposeOptions,
} from './generated/tflite_schema.js';

export type OpOptions =
  | { kind: 'ADD' }
  | { kind: 'MUL' }
  | { kind: 'NEG' }
  | { kind: 'RSQRT' }
  | { kind: 'LOGISTIC' }
  | { kind: 'MEAN'; keepDims: boolean }
  | { kind: 'RESHAPE'; newShape: number[] }
  | { kind: 'TRANSPOSE' }
  | { kind: 'SLICE' }
  | { kind: 'CONCATENATION'; axis: number }
  | { kind: 'GATHER'; axis: number }
  | { kind: 'EMBEDDING_LOOKUP' }
  | { kind: 'FULLY_CONNECTED'; keepNumDims: boolean; asymmetricQuantizeInputs: boolean }
  | { kind: 'BATCH_MATMUL'; adjX: boolean; adjY: boolean; asymmetricQuantizeInputs: boolean }
  | { kind: 'SOFTMAX'; beta: number }
  | { kind: 'DYNAMIC_UPDATE_SLICE' }
  | { kind: 'DEQUANTIZE' };

export type OpKind = OpOptions['kind'];

export const BUILTIN_CODE: Record<OpKind, BuiltinOperator> = {
  ADD: BuiltinOperator.ADD,
  MUL: BuiltinOperator.MUL,
  NEG: BuiltinOperator.NEG,
  RSQRT: BuiltinOperator.RSQRT,
  LOGISTIC: BuiltinOperator.LOGISTIC,
  MEAN: BuiltinOperator.MEAN,
  RESHAPE: BuiltinOperator.RESHAPE,
  TRANSPOSE: BuiltinOperator.TRANSPOSE,
  SLICE: BuiltinOperator.SLICE,
  CONCATENATION: BuiltinOperator.CONCATENATION,
  GATHER: BuiltinOperator.GATHER,
  EMBEDDING_LOOKUP: BuiltinOperator.EMBEDDING_LOOKUP,
  FULLY_CONNECTED: BuiltinOperator.FULLY_CONNECTED,
  BATCH_MATMUL: BuiltinOperator.BATCH_MATMUL,
  SOFTMAX: BuiltinOperator.SOFTMAX,
  DYNAMIC_UPDATE_SLICE: BuiltinOperator.DYNAMIC_UPDATE_SLICE,
  DEQUANTIZE: BuiltinOperator.DEQUANTIZE,
};

/**
 * Operator versions: the lowest version of each kernel that accepts what the
 * builders emit (hybrid int8 weights with per-channel scales need FC v5+ and
 * BATCH_MATMUL v4; the others are their base versions), following
 * tflite/tools/versioning/op_version.cc.
 */
export function opVersion(op: OpOptions, quantizedWeight: 'int8' | 'int4' | null): number {
  const hybridInt8 = quantizedWeight === 'int8';
  switch (op.kind) {
    case 'FULLY_CONNECTED':
      // float input × int4 filter has no version of its own in op_version.cc: the base version.
      return hybridInt8 ? (op.asymmetricQuantizeInputs ? 9 : 5) : op.keepNumDims ? 7 : 1;
    case 'EMBEDDING_LOOKUP':
      return quantizedWeight === 'int4' ? 4 : hybridInt8 ? 3 : 1;
    case 'DEQUANTIZE':
      return 2;
    case 'GATHER':
    case 'CONCATENATION':
    case 'SLICE':
    case 'TRANSPOSE':
    case 'MEAN':
    case 'ADD':
    case 'MUL':
    case 'SOFTMAX':
    case 'BATCH_MATMUL':
    case 'NEG':
    case 'RSQRT':
    case 'LOGISTIC':
    case 'RESHAPE':
    case 'DYNAMIC_UPDATE_SLICE':
      return 1;
  }
}

/** Writes the options table; returns its union type and offset (NONE/0 for ops without options). */
export function writeOptions(builder: Builder, op: OpOptions): { type: BuiltinOptions; offset: Offset } {
  const none = ActivationFunctionType.NONE;
  switch (op.kind) {
    case 'ADD':
      AddOptions.startAddOptions(builder);
      AddOptions.addFusedActivationFunction(builder, none);
      return { type: BuiltinOptions.AddOptions, offset: AddOptions.endAddOptions(builder) };
    case 'MUL':
      MulOptions.startMulOptions(builder);
      MulOptions.addFusedActivationFunction(builder, none);
      return { type: BuiltinOptions.MulOptions, offset: MulOptions.endMulOptions(builder) };
    case 'NEG':
      NegOptions.startNegOptions(builder);
      return { type: BuiltinOptions.NegOptions, offset: NegOptions.endNegOptions(builder) };
    case 'RSQRT':
    case 'LOGISTIC':
    case 'EMBEDDING_LOOKUP':
      return { type: BuiltinOptions.NONE, offset: 0 };
    case 'MEAN':
      ReducerOptions.startReducerOptions(builder);
      ReducerOptions.addKeepDims(builder, op.keepDims);
      return { type: BuiltinOptions.ReducerOptions, offset: ReducerOptions.endReducerOptions(builder) };
    case 'RESHAPE': {
      const shape = ReshapeOptions.createNewShapeVector(builder, op.newShape);
      ReshapeOptions.startReshapeOptions(builder);
      ReshapeOptions.addNewShape(builder, shape);
      return { type: BuiltinOptions.ReshapeOptions, offset: ReshapeOptions.endReshapeOptions(builder) };
    }
    case 'TRANSPOSE':
      TransposeOptions.startTransposeOptions(builder);
      return { type: BuiltinOptions.TransposeOptions, offset: TransposeOptions.endTransposeOptions(builder) };
    case 'SLICE':
      SliceOptions.startSliceOptions(builder);
      return { type: BuiltinOptions.SliceOptions, offset: SliceOptions.endSliceOptions(builder) };
    case 'CONCATENATION':
      ConcatenationOptions.startConcatenationOptions(builder);
      ConcatenationOptions.addAxis(builder, op.axis);
      ConcatenationOptions.addFusedActivationFunction(builder, none);
      return { type: BuiltinOptions.ConcatenationOptions, offset: ConcatenationOptions.endConcatenationOptions(builder) };
    case 'GATHER':
      GatherOptions.startGatherOptions(builder);
      GatherOptions.addAxis(builder, op.axis);
      return { type: BuiltinOptions.GatherOptions, offset: GatherOptions.endGatherOptions(builder) };
    case 'FULLY_CONNECTED':
      FullyConnectedOptions.startFullyConnectedOptions(builder);
      FullyConnectedOptions.addFusedActivationFunction(builder, none);
      FullyConnectedOptions.addKeepNumDims(builder, op.keepNumDims);
      FullyConnectedOptions.addAsymmetricQuantizeInputs(builder, op.asymmetricQuantizeInputs);
      return { type: BuiltinOptions.FullyConnectedOptions, offset: FullyConnectedOptions.endFullyConnectedOptions(builder) };
    case 'BATCH_MATMUL':
      BatchMatMulOptions.startBatchMatMulOptions(builder);
      BatchMatMulOptions.addAdjX(builder, op.adjX);
      BatchMatMulOptions.addAdjY(builder, op.adjY);
      BatchMatMulOptions.addAsymmetricQuantizeInputs(builder, op.asymmetricQuantizeInputs);
      return { type: BuiltinOptions.BatchMatMulOptions, offset: BatchMatMulOptions.endBatchMatMulOptions(builder) };
    case 'SOFTMAX':
      SoftmaxOptions.startSoftmaxOptions(builder);
      SoftmaxOptions.addBeta(builder, op.beta);
      return { type: BuiltinOptions.SoftmaxOptions, offset: SoftmaxOptions.endSoftmaxOptions(builder) };
    case 'DYNAMIC_UPDATE_SLICE':
      DynamicUpdateSliceOptions.startDynamicUpdateSliceOptions(builder);
      return { type: BuiltinOptions.DynamicUpdateSliceOptions, offset: DynamicUpdateSliceOptions.endDynamicUpdateSliceOptions(builder) };
    case 'DEQUANTIZE':
      DequantizeOptions.startDequantizeOptions(builder);
      return { type: BuiltinOptions.DequantizeOptions, offset: DequantizeOptions.endDequantizeOptions(builder) };
  }
}
