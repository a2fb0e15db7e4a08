/**
 * The safetensors module's public surface.
 *
 *   readSafetensorsHeader(file)  header of one file, validated, no weights read
 *   readSafetensorsModel(dir)    a model folder: model.safetensors or shards via model.safetensors.index.json
 *   countParameters(x)           elements over all tensors of a model or file
 *   SafetensorsReader            byte ranges of tensors through cached file handles
 *   SafetensorsModelWriter       streaming, sharded writer (HF layout, .partial names until finish())
 *   dtype helpers                F32/F16/BF16 conversions with PyTorch's rounding
 *
 * Errors are WorkbenchErrors with stable codes (safetensors_*, disk_full, …).
 */
export {
  readSafetensorsHeader,
  readSafetensorsModel,
  parseSafetensorsHeader,
  countParameters,
  MAX_HEADER_BYTES,
  SINGLE_FILE_NAME,
  INDEX_FILE_NAME,
} from './header.js';
export type { TensorEntry, SafetensorsHeader, SafetensorsModel, ModelTensor } from './header.js';
export { SafetensorsReader } from './reader.js';
export { SafetensorsModelWriter, planShards, encodeShardHeader, writeFailure } from './writer.js';
export type { PlannedTensor, PlannedShard, WrittenFile, ModelWriterOptions } from './writer.js';
export * from './dtypes.js';
