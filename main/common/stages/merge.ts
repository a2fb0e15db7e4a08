/**
 * Parameters of the LoRA merge stage (native, streaming; see docs/merge.md).
 * Owned by the merge capability; the runner only needs the schema.
 */
import { z } from 'zod';

export const MergeParams = z.object({
  baseDir: z.string().min(1),
  adapterDir: z.string().min(1),
  outDir: z.string().min(1),
  /** Output shard size in MiB (HF default is ~5 GB). */
  shardSizeMiB: z.number().int().min(1).max(1_000_000).default(4096),
  /** Re-read the output and check sampled tensors against a float64 computation. */
  verify: z.boolean().default(true),
  /** Merge even though the adapter names another base model. */
  allowBaseMismatch: z.boolean().default(false),
  /** Worker threads for the matrix products; 0 = one per core. */
  threads: z.number().int().min(0).max(256).default(0),
});
export type MergeParams = z.infer<typeof MergeParams>;
