/**
 * API methods of the engine host (docs/engine.md): what a bundle needs to
 * run, one chat generation (its text also streams as `chat` events with the
 * request id), and cancelling it. The model runs in the engine's child
 * process on the host, never in the renderer.
 */
import { z } from 'zod';
import { BundleRunInfo, ChatRequest, ChatResult } from '../bundleRun.js';
import { method } from './define.js';

export const bundleRunMethods = {
  'bundle.info': method(z.object({ bundlePath: z.string().min(1), contextLength: z.number().int().min(16).optional() }), BundleRunInfo),
  'bundle.chat': method(ChatRequest, ChatResult),
  'bundle.cancel': method(z.object({ requestId: z.string().min(1) }), z.object({ cancelled: z.boolean() })),
};
