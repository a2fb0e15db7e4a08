/**
 * One memory sample taken while a stage runs: the host's RAM and swap, and
 * the resident memory of the stage's whole process tree. Bytes throughout.
 */
import { z } from 'zod';

export const MemorySample = z.object({
  /** Milliseconds since the Unix epoch. */
  t: z.number(),
  sysTotal: z.number().nonnegative(),
  sysAvailable: z.number().nonnegative(),
  sysUsed: z.number().nonnegative(),
  swapTotal: z.number().nonnegative(),
  swapUsed: z.number().nonnegative(),
  /** RSS summed over the stage's process and all its descendants. */
  treeRss: z.number().nonnegative(),
});
export type MemorySample = z.infer<typeof MemorySample>;
