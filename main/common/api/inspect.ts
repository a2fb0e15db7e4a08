/**
 * API methods for looking inside artifacts and preparing a package:
 *   - `inspect.open`: the header-only summary of a .litertlm, a .tflite or an
 *     HF model folder (the Inspect page, the wizard's review steps);
 *   - `package.deriveMetadata`: the LlmMetadata the model folder calls for,
 *     with where each field came from, for the wizard's editable package step
 *     (the edited JSON goes into the package stage's params).
 * Paths are on the engine's host.
 */
import { z } from 'zod';
import { InspectionSummary, LlmMetadataJson } from '../formats.js';
import { method } from './define.js';

export const DerivedMetadata = z.object({
  metadata: LlmMetadataJson,
  /** Field name (as in LlmMetadataJson) → one sentence on where its value came from. */
  sources: z.record(z.string(), z.string()),
  warnings: z.array(z.string()),
  /** What the values are checked against (metadataChecks.ts): the tokenizer's size and the .tflite's KV cache, when known. */
  limits: z.object({ vocabSize: z.number().int().nullable(), kvCacheLength: z.number().int().nullable() }),
});
export type DerivedMetadata = z.infer<typeof DerivedMetadata>;

export const inspectMethods = {
  'inspect.open': method(z.object({ path: z.string().min(1) }), InspectionSummary),
  'package.deriveMetadata': method(
    z.object({
      modelDir: z.string().min(1),
      /** The converted model; gives max_num_tokens (its KV-cache length). */
      tflitePath: z.string().min(1).optional(),
    }),
    DerivedMetadata,
  ),
};
