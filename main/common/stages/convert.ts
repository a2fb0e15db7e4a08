/**
 * Parameters of the conversion stage (Python, AI Edge Torch / LiteRT Torch).
 * Owned by the conversion capability; see docs/conversion.md.
 */
import { z } from 'zod';

export const ConvertRoute = z.enum(['example', 'export_hf']);
export const Quantization = z.enum([
  'none',
  'dynamic_int8',
  'weight_only_int8',
  'fp16',
  'dynamic_int4_block32',
  'dynamic_int4_block128',
]);
export type Quantization = z.infer<typeof Quantization>;

export const DEFAULT_PREFILL_SEQ_LENS = [8, 64, 128, 256, 512, 1024] as const;

export const ConvertParams = z.object({
  modelDir: z.string().min(1),
  outDir: z.string().min(1),
  route: ConvertRoute.default('example'),
  kvCacheMaxLen: z.number().int().min(16).max(262_144).default(4096),
  prefillSeqLens: z.array(z.number().int().min(1).max(262_144)).min(1).default([...DEFAULT_PREFILL_SEQ_LENS]),
  quantize: Quantization.default('dynamic_int8'),
  outputNamePrefix: z.string().min(1).max(200).optional(),
  /** export_hf only: the converter's experimental low-memory path. */
  lightweightConversion: z.boolean().default(false),
  /** Pass the causal mask as an input instead of baking a kv×kv buffer in. */
  maskAsInput: z.boolean().default(false),
  transposeKvCache: z.boolean().default(false),
});
export type ConvertParams = z.infer<typeof ConvertParams>;
