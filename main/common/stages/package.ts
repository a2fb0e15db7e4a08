/**
 * Parameters of the packaging stage: the native .litertlm writer (no Python),
 * main/core/packager/. The metadata is the complete LlmMetadata as the wizard
 * shows it for editing (derived from the model folder by
 * `package.deriveMetadata`); absent, the stage derives it itself.
 */
import { z } from 'zod';
import { LlmMetadataJson, QuantScheme } from '../formats.js';

export const PackageParams = z.object({
  tflitePath: z.string().min(1),
  /** HF model folder: tokenizer.json (or tokenizer.model), tokenizer_config.json, generation_config.json, config.json. */
  modelDir: z.string().min(1),
  outPath: z.string().min(1),
  /** The complete LlmMetadata (protobuf JSON mapping), written verbatim; absent = derived from modelDir and the .tflite. */
  metadata: LlmMetadataJson.optional(),
  /**
   * Fields edited in the wizard before the .tflite exists: each field given
   * here replaces the derived one (max_num_tokens still comes from the
   * .tflite unless given). Not combined with `metadata`.
   */
  metadataOverrides: LlmMetadataJson.optional(),
  /**
   * Replace a file already at outPath. True by default so a plan run again
   * writes its bundle again; false refuses an existing file before the run
   * starts (what `workbench package` does unless --overwrite is given).
   */
  overwrite: z.boolean().default(true),
});
export type PackageParams = z.infer<typeof PackageParams>;

/** The package stage's result (stored with the stage, shown by the run page's package panel). */
export const PackageResult = z.object({
  outPath: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  metadata: LlmMetadataJson,
  /** How each derived field was obtained (empty when the metadata was given). */
  metadataSources: z.record(z.string(), z.string()),
  warnings: z.array(z.string()),
  tokenizerKind: z.enum(['hf-json', 'sentencepiece']),
  tflite: z.object({ kvCacheMaxLen: z.number().int().nullable(), prefillLengths: z.array(z.number().int()), quantScheme: QuantScheme }),
  sections: z.array(z.object({ dataType: z.number().int(), dataTypeName: z.string(), beginOffset: z.number(), endOffset: z.number() })),
});
export type PackageResult = z.infer<typeof PackageResult>;
