/**
 * Parameters of the verification stage: the fidelity checklist, and
 * optionally the numeric teacher-forced comparison (Python).
 */
import { z } from 'zod';

export const VerifyParams = z.object({
  modelDir: z.string().min(1),
  /** A .litertlm, or a bare .tflite together with metadataPath. */
  bundlePath: z.string().min(1),
  /** LlmMetadata (.json or binary .pb) for a bare .tflite, or to check other metadata than a bundle's own. */
  metadataPath: z.string().min(1).optional(),
  /** Context length the user intends to use on device. */
  intendedContext: z.number().int().min(1).optional(),
  /** Also run the numeric comparison (needs transformers + ai-edge-litert). */
  numeric: z.boolean().default(false),
});
export type VerifyParams = z.infer<typeof VerifyParams>;
