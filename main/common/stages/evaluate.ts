/**
 * The behaviour check (`evaluate` stage, `workbench evaluate`, the wizard's
 * Verification step): the source model's answers in PyTorch next to the
 * bundle's answers in LiteRT-LM's engine (with its own metadata, and greedy),
 * per prompt: first divergence, whether and how each stopped, a loop
 * detector; plus a teacher-forced numeric comparison of the .tflite against
 * the reference logits, and a summary naming the likely cause. docs/engine.md.
 */
import { z } from 'zod';
import { ChatMessage } from '../bundleRun.js';
import { CorpusMetrics, CorpusOptions } from '../corpusMetrics.js';

export const EvaluateParams = z.object({
  modelDir: z.string().min(1),
  bundlePath: z.string().min(1),
  /** JSONL: one conversation per line, `{"messages": [...]}` or a bare array of messages; added to the built-in prompts. */
  promptsFile: z.string().min(1).optional(),
  /** Leave out the built-in prompts (only the file's). */
  onlyPromptsFile: z.boolean().default(false),
  maxTokens: z.number().int().min(1).max(2048).default(48),
  /** Reference backend: auto (transformers when installed, else plain_lm), or one of them. */
  reference: z.enum(['auto', 'transformers', 'plain']).default('auto'),
  /** Skip the teacher-forced LiteRT.js comparison. */
  numeric: z.boolean().default(true),
  /** Corpus metrics (KLD, top-1, perplexity ratio over a text corpus; main/common/corpusMetrics.ts); absent: not measured. */
  corpus: CorpusOptions.optional(),
});
export type EvaluateParams = z.infer<typeof EvaluateParams>;
export type EvaluateParamsInput = z.input<typeof EvaluateParams>;

export const Answer = z.object({
  text: z.string(),
  stopped: z.boolean(),
  /** The stop token (reference: the id it stopped on; bundle: the bundle's stop tokens), or why it did not stop. */
  stopToken: z.string().nullable(),
  stopReason: z.string(),
  tokens: z.number().int().nonnegative(),
  /** Share of repeated 3-grams among the answer's token 3-grams (0 = no repetition, near 1 = a loop). */
  repetition: z.number(),
  /** One sentence when the engine could not answer. */
  error: z.string().nullable(),
});
export type Answer = z.infer<typeof Answer>;

export const Divergence = z.object({
  /** Index of the first reference token the answer departs from; null = identical. */
  token: z.number().int().nullable(),
  /** Character offset where the texts first differ; null = identical. */
  char: z.number().int().nullable(),
});
export type Divergence = z.infer<typeof Divergence>;

export const PromptNumeric = z.object({
  positions: z.number().int().nonnegative(),
  maxAbsLogitError: z.number(),
  meanKl: z.number(),
  maxKl: z.number(),
  top1Agreement: z.number(),
});
export type PromptNumeric = z.infer<typeof PromptNumeric>;

export const PromptOutcome = z.object({
  index: z.number().int(),
  label: z.string(),
  messages: z.array(ChatMessage),
  reference: Answer,
  bundle: Answer,
  greedy: Answer,
  /** Where the bundle's own answer departs from the reference. */
  firstDivergence: Divergence,
  greedyDivergence: Divergence,
  /** The bundle's own answer's repetition share (the loop detector). */
  repetition: z.number(),
  numeric: PromptNumeric.nullable(),
});
export type PromptOutcome = z.infer<typeof PromptOutcome>;

export const EvaluateSummary = z.object({
  prompts: z.number().int(),
  bundleMatches: z.number().int(),
  greedyMatches: z.number().int(),
  bundleNeverStopped: z.number().int(),
  referenceStopped: z.number().int(),
  loops: z.number().int(),
  /** One sentence per likely cause, joined with the fidelity checks. */
  causes: z.array(z.string()),
  /** The verdict in one sentence. */
  text: z.string(),
  numeric: z
    .object({ positions: z.number().int(), maxAbsLogitError: z.number(), meanKl: z.number(), top1Agreement: z.number() })
    .nullable(),
});
export type EvaluateSummary = z.infer<typeof EvaluateSummary>;

export const EvaluateResult = z.object({
  modelDir: z.string(),
  bundlePath: z.string(),
  referenceBackend: z.string(),
  engineVersion: z.string(),
  maxTokens: z.number().int(),
  prompts: z.array(PromptOutcome),
  summary: EvaluateSummary,
  /** Fidelity checks that did not pass (id: explanation), as joined into the causes. */
  failingChecks: z.array(z.object({ id: z.string(), status: z.string(), explanation: z.string() })),
  /** The corpus metrics when asked for (EvaluateParams.corpus); null otherwise. */
  corpus: CorpusMetrics.nullable().optional(),
});
export type EvaluateResult = z.infer<typeof EvaluateResult>;
