/**
 * Parameters of the packaging stage: a native .litertlm writer (no Python).
 * Owned by the packaging/fidelity capability; see docs/fidelity.md.
 */
import { z } from 'zod';

export const PackageParams = z.object({
  tflitePath: z.string().min(1),
  /** HF model folder: tokenizer.json, tokenizer_config.json, generation_config.json. */
  modelDir: z.string().min(1),
  outPath: z.string().min(1),
  /** Edited metadata (LlmMetadata as JSON); absent = derived from modelDir. */
  metadata: z.record(z.string(), z.unknown()).optional(),
});
export type PackageParams = z.infer<typeof PackageParams>;
