/**
 * Parameters of the built-in self-test stage: a Node child process that
 * exercises the runner, the log pipeline and the UI without any model. It is
 * labelled as a self-test everywhere and never produces a model artifact.
 */
import { z } from 'zod';

export const SelftestParams = z.object({
  /** How long the stage pretends to work, in seconds. */
  durationSeconds: z.number().min(0).max(3600).default(6),
  /** How many log lines it prints in total (exercise the log viewer). */
  logLines: z.number().int().min(0).max(2_000_000).default(200),
  /** Fail at this fraction of the way through (tests the failure path). */
  failAt: z.number().min(0).max(1).nullable().default(null),
  /** Allocate this many MiB gradually (exercises the memory sampler and guard). */
  allocateMiB: z.number().int().min(0).max(65536).default(0),
});
export type SelftestParams = z.infer<typeof SelftestParams>;
