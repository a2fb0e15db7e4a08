/**
 * Parameters of the environment bootstrap stage (python-env/bootstrap.py):
 * create or repair `<dataDir>/python/venv` with the pinned packages of one
 * conversion route. Run as a stage so the install is recorded like a run.
 */
import { z } from 'zod';
import { PythonRoute } from './convert.js';

export const BootstrapParams = z.object({
  route: PythonRoute.default('example'),
  /** Delete the environment first (repairs a broken one). */
  rebuild: z.boolean().default(false),
  /** Interpreter to build the venv from; absent = the best Python >= 3.10 found. */
  pythonPath: z.string().min(1).optional(),
  /** Package index instead of PyPI (a company mirror); also the index checked when the install fails. */
  indexUrl: z.string().url().optional(),
  /** Index for torch's CPU builds; "none" drops it (a mirror that already serves them). */
  extraIndexUrl: z.union([z.string().url(), z.literal('none')]).optional(),
});
export type BootstrapParams = z.infer<typeof BootstrapParams>;
