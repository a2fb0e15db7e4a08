/**
 * API of the demonstration (issue 18 item 9): one call starts the demo run
 * (the `demo` stage, then the behaviour check of the shipped bundle and of
 * the fixed one; main/common/stages/demo.ts) — the New run page's
 * "Run the demo" button.
 */
import { z } from 'zod';
import { method } from './define.js';

export const demoMethods = {
  /** outDir: an absolute folder for the model and bundles; default a new folder under the data directory (<dataDir>/demo/<time>). */
  'demo.start': method(z.object({ outDir: z.string().min(1).optional() }), z.object({ id: z.number(), outDir: z.string() })),
};
