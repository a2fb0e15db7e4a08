/**
 * Parameters of the LoRA merge stage (native, streaming; see docs/merge.md).
 * Shared by the wizard, the API, `workbench merge` and the stage script.
 */
import { z } from 'zod';

export const MergeParams = z.object({
  /** Hugging Face model folder: config.json + model.safetensors or shards with an index. */
  baseDir: z.string().min(1),
  /** PEFT adapter folder: adapter_config.json + adapter_model.safetensors. */
  adapterDir: z.string().min(1),
  /** Must not exist or be empty; written as a hidden partial folder, renamed when complete. */
  outDir: z.string().min(1),
  /** Output shard size in MiB (HF default is ~5 GB). */
  shardSizeMiB: z.number().int().min(1).max(1_000_000).default(4096),
  /** Re-read the output and check sampled tensors against a float64 computation. */
  verify: z.boolean().default(true),
  /** Worker threads for the matrix products; 0 = one per core. */
  threads: z.number().int().min(0).max(256).default(0),
});
export type MergeParams = z.infer<typeof MergeParams>;
export type MergeParamsInput = z.input<typeof MergeParams>;

/** What the merge stage reports as its `result` event (stored with the stage). */
export const MergeSummary = z.object({
  outDir: z.string(),
  files: z.array(z.object({ fileName: z.string(), bytes: z.number(), sha256: z.string() })),
  copiedFiles: z.array(z.object({ file: z.string(), from: z.enum(['base', 'adapter']), bytes: z.number() })),
  outputBytes: z.number(),
  tensorsTotal: z.number(),
  tensorsTouched: z.number(),
  modules: z.number(),
  /** Distinct (r, alpha, scale) in use and how many modules use each. */
  scales: z.array(z.object({ scale: z.number(), r: z.number(), alpha: z.number(), modules: z.number() })),
  warnings: z.array(z.string()),
  verify: z
    .object({ ok: z.boolean(), checkedTensors: z.number(), checkedValues: z.number(), identicalCopies: z.number(), maxUlpError: z.number(), failures: z.array(z.string()) })
    .nullable(),
  adapter: z.object({ baseModelNameOrPath: z.string().nullable(), r: z.number(), loraAlpha: z.number(), useRslora: z.boolean(), fanInFanOut: z.boolean() }),
  durationMs: z.number(),
  mergeSeconds: z.number(),
  bytesPerSecond: z.number(),
  peakRssBytes: z.number(),
});
export type MergeSummary = z.infer<typeof MergeSummary>;
