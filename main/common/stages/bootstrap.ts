/**
 * Parameters of the environment bootstrap stage (python-env/bootstrap.py):
 * create or repair `<dataDir>/python/venv` with the pinned packages of one
 * conversion route. Run as a stage so the install is recorded like a run.
 */
import { z } from 'zod';
import { ConvertRoute } from './convert.js';

export const BootstrapParams = z.object({
  route: ConvertRoute.default('example'),
  /** Delete the environment first (repairs a broken one). */
  rebuild: z.boolean().default(false),
  /** Interpreter to build the venv from; absent = the best Python >= 3.10 found. */
  pythonPath: z.string().min(1).optional(),
});
export type BootstrapParams = z.infer<typeof BootstrapParams>;
