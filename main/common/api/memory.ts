/**
 * API methods of the memory capability: the context-length table with
 * fits / tight / blocked against the engine host's RAM (the serve host's in
 * serve mode), live host RAM, and the host's calibration.
 */
import { z } from 'zod';
import { CalibrationFit, CalibrationPoint, ContextTable } from '../memoryEstimate.js';
import { ConvertRoute, DEFAULT_PREFILL_SEQ_LENS, Quantization } from '../stages/convert.js';
import { method } from './define.js';

export const EstimateInput = z.object({
  modelDir: z.string().min(1),
  /** Left out: the route convert takes (native where the native converter builds the model, else example). */
  route: ConvertRoute.optional(),
  quantize: Quantization.default('dynamic_int8'),
  prefillSeqLens: z.array(z.number().int().min(1).max(262_144)).min(1).default([...DEFAULT_PREFILL_SEQ_LENS]),
  lightweightConversion: z.boolean().default(false),
  maskAsInput: z.boolean().default(false),
  /** RAM of the target device (default 8 GiB, a current phone). */
  deviceRamBytes: z.number().positive().max(2 ** 42).optional(),
  /** Custom context lengths to evaluate besides 512 … 32768. */
  extraContexts: z.array(z.number().int().min(16).max(262_144)).max(8).default([]),
});
export type EstimateInput = z.input<typeof EstimateInput>;

export const HostMemoryNow = z.object({
  t: z.number(),
  totalBytes: z.number().nonnegative(),
  availableBytes: z.number().nonnegative(),
  usedBytes: z.number().nonnegative(),
  swapTotalBytes: z.number().nonnegative(),
  swapUsedBytes: z.number().nonnegative(),
  /** What a stage may use before the guard's stop level. */
  budgetBytes: z.number().nonnegative(),
});
export type HostMemoryNow = z.infer<typeof HostMemoryNow>;

export const CalibrationView = z.object({
  fit: CalibrationFit,
  points: z.array(CalibrationPoint),
});
export type CalibrationView = z.infer<typeof CalibrationView>;

export const memoryMethods = {
  'memory.estimate': method(EstimateInput, ContextTable),
  'memory.host': method(z.object({}), HostMemoryNow),
  'memory.calibration.get': method(z.object({}), CalibrationView),
  'memory.calibration.reset': method(z.object({}), CalibrationView),
};
