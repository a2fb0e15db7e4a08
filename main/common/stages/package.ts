/**
 * Parameters of the packaging stage: the native .litertlm writer (no Python),
 * main/core/packager/. The metadata is the complete LlmMetadata as the wizard
 * shows it for editing (derived from the model folder by
 * `package.deriveMetadata`); absent, the stage derives it itself.
 */
import { z } from 'zod';
import { LlmMetadataJson } from '../formats.js';

export const PackageParams = z.object({
  tflitePath: z.string().min(1),
  /** HF model folder: tokenizer.json (or tokenizer.model), tokenizer_config.json, generation_config.json, config.json. */
  modelDir: z.string().min(1),
  outPath: z.string().min(1),
  /** LlmMetadata in the protobuf JSON mapping; absent = derived from modelDir and the .tflite. */
  metadata: LlmMetadataJson.optional(),
});
export type PackageParams = z.infer<typeof PackageParams>;
