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
  /** The first teacher-forced position where the .tflite's top-1 token is not the reference's (null: none). */
  firstTop1Miss: z.object({ position: z.number().int(), reference: z.number().int(), bundle: z.number().int() }).nullable().default(null),
});
export type PromptNumeric = z.infer<typeof PromptNumeric>;

/** A token id with its text, for evidence a person can read. */
export const TokenRef = z.object({ id: z.number().int(), text: z.string() });
export type TokenRef = z.infer<typeof TokenRef>;

/** Where two token sequences of one prompt part ways: the index and a few ids from there on each side. */
export const IdDifference = z.object({
  position: z.number().int(),
  expected: z.array(TokenRef),
  actual: z.array(TokenRef),
});
export type IdDifference = z.infer<typeof IdDifference>;

/**
 * What the runtime is fed for one prompt, measured against the model's own
 * prompt: the token counts, where the bundle's prompt format (its start
 * token and template, tokenized with the model's tokenizer) departs, and
 * where the bundle's tokenizer encodes the model's prompt text differently.
 */
export const PromptInput = z.object({
  /** The model's prompt: its chat template, its tokenizer. */
  modelTokens: z.number().int(),
  /** What the runtime feeds: start token + the bundle's template, the bundle's tokenizer (null: not reproducible). */
  runtimeTokens: z.number().int().nullable(),
  format: IdDifference.extend({
    /** 'start-token' when the departure is the metadata's start token, 'template' when the rendered text differs. */
    source: z.enum(['start-token', 'template']),
    /** First differing character of the rendered texts (template only). */
    textOffset: z.number().int().nullable(),
  }).nullable(),
  tokenizer: IdDifference.nullable(),
  /** Why the runtime side could not be rendered or tokenized, when it could not. */
  problem: z.string().nullable(),
});
export type PromptInput = z.infer<typeof PromptInput>;

/** The classes of cause the behaviour check attributes a difference to (docs/fidelity.md, "Causes"). */
export const CauseKind = z.enum(['context', 'prompt-format', 'tokenizer', 'conversion', 'stop-tokens', 'sampler', 'model', 'engine', 'unexplained']);
export type CauseKind = z.infer<typeof CauseKind>;

/** Each cause class's name as the CLI, the run page, Compare and reports show it. */
export const CAUSE_TITLES: Record<CauseKind, string> = {
  context: 'Context',
  model: 'The model itself',
  'prompt-format': 'Prompt format',
  tokenizer: 'Tokenizer',
  conversion: 'Conversion / quantization',
  'stop-tokens': 'Stop tokens',
  sampler: 'Sampler',
  engine: 'Engine',
  unexplained: 'Unexplained',
};

export const CauseEvidence = z.object({ label: z.string(), value: z.string() });
export type CauseEvidence = z.infer<typeof CauseEvidence>;

/** One prompt's first cause: the class and what was seen for this prompt. */
export const PromptCause = z.object({ kind: CauseKind, text: z.string(), evidence: z.array(CauseEvidence) });
export type PromptCause = z.infer<typeof PromptCause>;

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
  /** What the runtime is fed against the model's prompt (absent in results recorded before it was measured). */
  input: PromptInput.nullable().default(null),
  /** The first cause of this prompt's difference (null: the answer matches). */
  cause: PromptCause.nullable().default(null),
});
export type PromptOutcome = z.infer<typeof PromptOutcome>;

/**
 * A cause across prompts: its class, the prompts it is the first cause of,
 * the prompts where it was measured too but something else came first, the
 * evidence (values, ids, positions), the fidelity checks that agree, and one
 * sentence for the CLI and the UI. `latent`: a failing check no answer
 * shows (the answers match on these prompts, others may change).
 */
export const Cause = z.object({
  kind: CauseKind,
  latent: z.boolean(),
  prompts: z.array(z.number().int()),
  alsoPrompts: z.array(z.number().int()),
  evidence: z.array(CauseEvidence),
  checks: z.array(z.string()),
  text: z.string(),
});
export type Cause = z.infer<typeof Cause>;

/** Results recorded before causes were structured stored one sentence each; they read as unattributed causes. */
const StoredCause = z.preprocess(
  (value) => (typeof value === 'string' ? { kind: 'unexplained', latent: false, prompts: [], alsoPrompts: [], evidence: [], checks: [], text: value } : value),
  Cause,
);

export const EvaluateSummary = z.object({
  prompts: z.number().int(),
  bundleMatches: z.number().int(),
  greedyMatches: z.number().int(),
  bundleNeverStopped: z.number().int(),
  referenceStopped: z.number().int(),
  loops: z.number().int(),
  /** 'match': every answer matches and no check fails; 'latent': every answer matches but a failing check may change other prompts; 'differ': some answer differs. */
  verdict: z.enum(['match', 'latent', 'differ']).optional(),
  /** Causes, most evidenced first: first causes of differing answers by count, then causes measured but not first, then the model's own loops, then latent findings. */
  causes: z.array(StoredCause),
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
  /** The bundle's metadata as the evidence quotes it (absent in results recorded before it was). */
  bundleFacts: z
    .object({
      sampler: z.string().nullable(),
      stopTokens: z.array(TokenRef),
      startToken: z.array(TokenRef),
      maxNumTokens: z.number().int().nullable(),
      kvLength: z.number().int().nullable(),
    })
    .nullable()
    .default(null),
  /** The corpus metrics when asked for (EvaluateParams.corpus); null otherwise. */
  corpus: CorpusMetrics.nullable().optional(),
});
export type EvaluateResult = z.infer<typeof EvaluateResult>;
