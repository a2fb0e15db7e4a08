/**
 * The JSON-lines protocol between the workbench and the engine's child
 * process (main/stages/bundle-runner.ts): requests on the child's stdin, one
 * event per line on its stdout (stderr carries the engine's own log). Kept
 * apart from the stage protocol because the child lives for many requests.
 */
import { z } from 'zod';
import { ChatMessage } from '../../common/bundleRun.js';

export const RunnerSampler = z.object({
  /** SamplerType numbers of the engine: 1 TOP_K, 2 TOP_P, 3 GREEDY. */
  type: z.number().int(),
  k: z.number().int(),
  p: z.number(),
  temperature: z.number(),
  seed: z.number().int().optional(),
});
export type RunnerSampler = z.infer<typeof RunnerSampler>;

export const RunnerRequest = z.discriminatedUnion('op', [
  z.object({ id: z.number().int(), op: z.literal('open'), bundlePath: z.string(), contextLength: z.number().int().nullable(), readBytes: z.number().int().positive().optional() }),
  z.object({
    id: z.number().int(),
    op: z.literal('generate'),
    /** Conversation API: the messages before the last become the preface; raw: `rawText` is prefilled as is. */
    messages: z.array(ChatMessage),
    rawText: z.string().nullable(),
    /** null: the session uses the bundle's sampler_params (or the runtime default). */
    sampler: RunnerSampler.nullable(),
    maxOutputTokens: z.number().int(),
  }),
  z.object({ id: z.number().int(), op: z.literal('cancel') }),
]);
export type RunnerRequest = z.infer<typeof RunnerRequest>;

export const RunnerEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), engineVersion: z.string(), build: z.string() }),
  z.object({ id: z.number().int(), type: z.literal('opened'), loadSeconds: z.number(), heapBytes: z.number().int() }),
  z.object({ id: z.number().int(), type: z.literal('chunk'), text: z.string() }),
  z.object({
    id: z.number().int(),
    type: z.literal('done'),
    text: z.string(),
    /** From the engine's benchmark info (Conversation API); null on the Session API, which reports none. */
    promptTokens: z.number().int().nullable(),
    tokens: z.number().int().nullable(),
    timeToFirstTokenSeconds: z.number().nullable(),
    prefillTokensPerSecond: z.number().nullable(),
    decodeTokensPerSecond: z.number().nullable(),
    /** Wall-clock seconds of the prefill and the decode (the Session API timings). */
    prefillSeconds: z.number(),
    decodeSeconds: z.number(),
    cancelled: z.boolean(),
    heapBytes: z.number().int(),
  }),
  z.object({
    id: z.number().int(),
    type: z.literal('error'),
    code: z.string(),
    message: z.string(),
    /** The engine can no longer be used (Aborted(), out of memory): the child exits after this. */
    fatal: z.boolean(),
  }),
]);
export type RunnerEvent = z.infer<typeof RunnerEvent>;
