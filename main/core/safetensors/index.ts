/**
 * The safetensors module's public surface: header-only readers, tensor byte
 * reads, the sharded streaming writer and the float conversions.
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
export * from './dtypes.js';
