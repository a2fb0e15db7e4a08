/**
 * Running a bundle in LiteRT-LM's own engine (`@litert-lm/core`, its C++
 * compiled to WebAssembly, CPU backend): what a chat request carries, what a
 * generation reports (text, timings, why it ended) and whether a bundle fits
 * the engine's 4 GiB wasm32 heap. The CLI (`workbench chat`), the Try page
 * and the behaviour check share these shapes. docs/engine.md explains them.
 */
import { z } from 'zod';

/** The engine version this build pins (package.json); checks that depend on it name it. */
export const LITERT_LM_JS_VERSION = '0.17.1';

export const ChatMessage = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** What the user may change for one generation; absent fields keep the bundle's own metadata. */
export const ChatOptions = z.object({
  /** Greedy decoding, written the way the CPU sampler implements it: TOP_P with k = 1. */
  greedy: z.boolean().default(false),
  temperature: z.number().positive().max(10).optional(),
  topP: z.number().gt(0).max(1).optional(),
  topK: z.number().int().min(1).max(100_000).optional(),
  /** Cap on generated tokens; null = no cap of its own: the bundle's context (max_num_tokens) is the limit. */
  maxTokens: z.number().int().min(1).max(32_768).nullable().default(256),
  /** A system message put before the conversation (Conversation API) or before the text (raw). */
  systemPrompt: z.string().max(100_000).optional(),
  /** Feed the text as is: the Session API with prompt templating off (no chat template). */
  raw: z.boolean().default(false),
  seed: z.number().int().optional(),
});
export type ChatOptions = z.infer<typeof ChatOptions>;
export type ChatOptionsInput = z.input<typeof ChatOptions>;

export const ChatRequest = z.object({
  bundlePath: z.string().min(1),
  /** The conversation so far; the last message is the user's (raw: its text is fed as is). */
  messages: z.array(ChatMessage).min(1).max(1000),
  options: ChatOptions.default({ greedy: false, maxTokens: 256, raw: false }),
  /** Context length to open the engine with; absent = the bundle's max_num_tokens (clamped to its KV cache). */
  contextLength: z.number().int().min(16).max(1 << 20).optional(),
  /** Chosen by the caller so streamed `chat` events can be matched to this request. */
  requestId: z.string().min(1).max(100).optional(),
});
export type ChatRequest = z.infer<typeof ChatRequest>;
export type ChatRequestInput = z.input<typeof ChatRequest>;

/**
 * Why generation ended: a stop token of the bundle, the max-tokens cap, the
 * context (KV cache) full, or the user cancelled.
 */
export const StopReason = z.enum(['stop-token', 'max-tokens', 'context-full', 'cancelled']);
export type StopReason = z.infer<typeof StopReason>;

export const SamplerUsed = z.object({
  type: z.enum(['TOP_K', 'TOP_P', 'GREEDY', 'TYPE_UNSPECIFIED']),
  k: z.number().int().nullable(),
  p: z.number().nullable(),
  temperature: z.number().nullable(),
  /** Where it came from: the bundle's sampler_params, the runtime default, or the user's overrides. */
  source: z.enum(['bundle', 'runtime-default', 'override']),
  /** One sentence, e.g. "greedy = TOP_P with k = 1 (the CPU sampler implements TOP_P only)". */
  note: z.string().nullable(),
});
export type SamplerUsed = z.infer<typeof SamplerUsed>;

/**
 * The top-k a sampling override uses: the user's, else the bundle's (or the
 * runtime default's) k, except that k = 1 is greedy, where temperature and
 * top-p do nothing, so it becomes 40. Shared by the engine host and the Try
 * page, which shows this value in its top-k field before sending.
 */
export const RAISED_TOP_K = 40;
export function overrideTopK(userK: number | undefined, baseK: number | null | undefined): { k: number; raised: boolean } {
  if (userK !== undefined) return { k: userK, raised: false };
  const k = baseK ?? 1;
  return k === 1 ? { k: RAISED_TOP_K, raised: true } : { k, raised: false };
}

/** Where a request is, pushed as `chatPhase` events so the Try page can say what is happening. */
export const ChatPhase = z.enum(['waiting', 'loading', 'generating']);
export type ChatPhase = z.infer<typeof ChatPhase>;

export const ChatResult = z.object({
  text: z.string(),
  stopReason: StopReason,
  /** Generated tokens (the engine's decode count). */
  tokens: z.number().int().nonnegative(),
  /** Prompt tokens the engine prefilled. */
  promptTokens: z.number().int().nonnegative(),
  /** The exact text the runtime renders from the bundle's template for this conversation. */
  promptText: z.string(),
  /** How the prompt text was obtained (the bundle's jinja template with typed content parts, its prefix/suffix templates, or raw). */
  promptSource: z.string(),
  timeToFirstTokenSeconds: z.number().nullable(),
  prefillTokensPerSecond: z.number().nullable(),
  /**
   * What the prefill figures measure: the engine's own benchmark (a first turn), or the wall clock from the request
   * to the first token over the whole prompt (follow-up turns: the conversation so far is prefilled again, and the
   * engine's benchmark times only part of it).
   */
  prefillMeasure: z.enum(['engine', 'wall-clock']).optional(),
  /** Set when the user stopped the request: while it waited for the engine, while the engine loaded, or while it generated. */
  cancelledWhile: ChatPhase.optional(),
  decodeTokensPerSecond: z.number().nullable(),
  /** Seconds to create the engine for this bundle; null when an already open engine was reused. */
  loadSeconds: z.number().nullable(),
  contextLength: z.number().int(),
  sampler: SamplerUsed,
  /** The bundle's stop tokens as text (e.g. `<|im_end|>`). */
  stopTokens: z.array(z.string()),
  engineVersion: z.string(),
});
export type ChatResult = z.infer<typeof ChatResult>;

/** A piece of streamed output, pushed as a `chat` event while a request runs. */
export const ChatStreamEvent = z.object({
  requestId: z.string(),
  /** New text since the last event. */
  text: z.string(),
});
export type ChatStreamEvent = z.infer<typeof ChatStreamEvent>;

/** Whether the bundle fits the engine's wasm32 heap, with the figures. */
export const HeapFit = z.object({
  fits: z.boolean(),
  predictedBytes: z.number().int().nonnegative(),
  limitBytes: z.number().int().positive(),
  parts: z.object({
    /** The model file held in the heap, plus the weights the CPU delegate packs for each signature. */
    weightsBytes: z.number().int().nonnegative(),
    kvCacheBytes: z.number().int().nonnegative(),
    workspaceBytes: z.number().int().nonnegative(),
  }),
  /** One sentence with the figure. */
  summary: z.string(),
  /** What to use instead when it does not fit; null when it fits. */
  advice: z.string().nullable(),
});
export type HeapFit = z.infer<typeof HeapFit>;

/** What the Try page shows about a bundle before chatting. */
export const BundleRunInfo = z.object({
  bundlePath: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  hasMetadata: z.boolean(),
  contextLength: z.number().int().nullable(),
  sampler: SamplerUsed.nullable(),
  stopTokens: z.array(z.string()),
  hasJinjaTemplate: z.boolean(),
  heapFit: HeapFit.nullable(),
  /** One sentence each: things that will stop this bundle from running in this engine (no metadata, GREEDY sampler, ...). */
  problems: z.array(z.string()),
  engineVersion: z.string(),
});
export type BundleRunInfo = z.infer<typeof BundleRunInfo>;
