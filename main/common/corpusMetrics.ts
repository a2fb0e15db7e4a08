/**
 * Corpus metrics (issue 16, item 2): the .tflite teacher-forced over a text
 * corpus beside the PyTorch reference on the same tokens, position by
 * position, summarized the way llama.cpp's `--kl-divergence` mode does.
 * Shared by the evaluate stage (`evaluate --corpus`), the recipes comparison,
 * the run page (KLD-per-position plot) and the report export. docs/fidelity.md
 * gives each formula.
 */
import { z } from 'zod';

/** Where the corpus came from: the user's file, or the built-in public-domain sample. */
export const CorpusSource = z.object({
  /** Absolute path of the file read. */
  path: z.string(),
  builtIn: z.boolean(),
  /** text (one document), jsonl-text ({"text"}) or jsonl-messages ({"messages"}, rendered with the chat template). */
  format: z.enum(['text', 'jsonl']),
  documents: z.number().int().nonnegative(),
});
export type CorpusSource = z.infer<typeof CorpusSource>;

/**
 * The summary over every scored position. A scored position p of a window
 * predicts token p+1 of the window from tokens 0..p; `tokens` counts them.
 */
export const CorpusMetrics = z.object({
  source: CorpusSource,
  /** Tokens of the corpus after tokenization (before windowing and the cap). */
  corpusTokens: z.number().int().nonnegative(),
  /** Windows fed (each one a fresh KV cache on both sides). */
  windows: z.number().int().nonnegative(),
  /** Tokens per window (the last may be shorter). */
  windowTokens: z.number().int().positive(),
  /** Scored positions. */
  tokens: z.number().int().nonnegative(),
  /** Mean over positions of KL(reference ‖ bundle) in nats. */
  meanKld: z.number(),
  medianKld: z.number(),
  p99Kld: z.number(),
  maxKld: z.number(),
  /** Share of positions whose argmax is the same on both sides. */
  top1Agreement: z.number(),
  /** exp(−mean log p_reference(next token)). */
  pplReference: z.number(),
  /** exp(−mean log p_bundle(next token)). */
  pplBundle: z.number(),
  /** pplBundle / pplReference (1 = no loss). */
  pplRatio: z.number(),
  /** sqrt(mean (p_bundle(next) − p_reference(next))²), llama.cpp's "RMS Δp". */
  rmsDeltaP: z.number(),
  /** mean (p_bundle(next) − p_reference(next)). */
  meanDeltaP: z.number(),
  /**
   * KL per scored position in corpus order, for the plot; when there are
   * more than KLD_PLOT_POINTS positions, the maximum of each run of
   * `kldStride` consecutive positions (so a spike is never averaged away).
   */
  kldByPosition: z.array(z.number()),
  kldStride: z.number().int().positive(),
  /** Index (into scored positions) where each window starts, for the plot's window boundaries. */
  windowStarts: z.array(z.number().int().nonnegative()),
  /** Seconds spent on each side (the reference's whole-window forwards; LiteRT.js's decode steps). */
  referenceSeconds: z.number(),
  bundleSeconds: z.number(),
});
export type CorpusMetrics = z.infer<typeof CorpusMetrics>;

/** Points the plot gets at most (more positions are folded by their maximum). */
export const KLD_PLOT_POINTS = 2048;

/** The longest window fed; shorter when the bundle's context is shorter. docs/fidelity.md: why. */
export const DEFAULT_WINDOW_TOKENS = 512;

/** The corpus is cut after this many tokens unless asked otherwise. */
export const DEFAULT_CORPUS_MAX_TOKENS = 2048;

/** The corpus options a stage takes (evaluate and recipes). */
export const CorpusOptions = z.object({
  /** A text file or JSONL of {"text"} / {"messages"}; absent: the built-in sample (resources/corpus/). */
  file: z.string().min(1).optional(),
  /** Tokens of the corpus used at most (the rest is left out, said in the log). */
  maxTokens: z.number().int().min(2).max(1_000_000).default(DEFAULT_CORPUS_MAX_TOKENS),
  /** Window length cap; the bundle's context caps it too. */
  windowTokens: z.number().int().min(2).max(262_144).default(DEFAULT_WINDOW_TOKENS),
});
export type CorpusOptions = z.infer<typeof CorpusOptions>;
export type CorpusOptionsInput = z.input<typeof CorpusOptions>;
