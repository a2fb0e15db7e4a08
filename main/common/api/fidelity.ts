/**
 * API methods of the fidelity analyzer (docs/fidelity.md): check a packaged
 * model against its HF folder, re-package it with corrected metadata, and
 * render a report as Markdown for export. Paths are on the engine's host.
 */
import { z } from 'zod';
import { FidelityReport } from '../fidelity.js';
import { LlmMetadataJson } from '../formats.js';
import { method } from './define.js';

export const FidelityCheckRequest = z.object({
  modelDir: z.string().min(1),
  bundlePath: z.string().min(1),
  /** For a bare .tflite: its LlmMetadata as .json or binary .pb. */
  metadataPath: z.string().min(1).optional(),
  intendedContext: z.number().int().min(1).optional(),
});
export type FidelityCheckRequest = z.infer<typeof FidelityCheckRequest>;

export const FidelityFixRequest = FidelityCheckRequest.extend({
  /** The fixed .litertlm; may equal bundlePath to fix in place. */
  outPath: z.string().min(1),
});
export type FidelityFixRequest = z.infer<typeof FidelityFixRequest>;

export const FidelityFixResult = z.object({
  outPath: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  elapsedMs: z.number().int().nonnegative(),
  metadata: LlmMetadataJson,
  before: FidelityReport,
  after: FidelityReport,
  /** Items still not passing after the fix (tokenizer, re-conversion, runtime limits). */
  remaining: z.array(z.string()),
  notes: z.array(z.string()),
});
export type FidelityFixResult = z.infer<typeof FidelityFixResult>;

export const fidelityMethods = {
  'fidelity.check': method(FidelityCheckRequest, FidelityReport),
  'fidelity.fix': method(FidelityFixRequest, FidelityFixResult),
  'fidelity.markdown': method(z.object({ report: FidelityReport }), z.object({ markdown: z.string() })),
};
