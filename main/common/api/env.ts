/**
 * API methods for the conversion environment: the doctor's report, and
 * starting the bootstrap (a recorded run with one `bootstrap` stage).
 */
import { z } from 'zod';
import { DoctorReport } from '../env.js';
import { PythonRoute } from '../stages/convert.js';
import { method } from './define.js';

export const envMethods = {
  // fresh: probe every interpreter again (the Environment page's "Check again"), not the answers of the last seconds.
  'env.doctor': method(z.object({ outputDir: z.string().min(1).optional(), fresh: z.boolean().optional() }), DoctorReport),
  'env.bootstrap': method(z.object({ route: PythonRoute.default('example'), rebuild: z.boolean().default(false) }), z.object({ id: z.number() })),
};
