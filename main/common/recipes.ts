/**
 * Choosing the recipe with numbers (issue 16, item 3): the `recipes` stage
 * converts and packages the model once per quantization recipe, measures
 * each bundle (bytes, device memory at the context, corpus metrics, greedy
 * agreement on the prompts, decode speed) and recommends one. The parameter
 * and result schemas and the recommendation rule live here so the CLI, the
 * stage, the wizard page, the run page and the report export share them.
 */
import { z } from 'zod';
import { CorpusMetrics, CorpusOptions } from './corpusMetrics.js';
import { formatBytes } from './format.js';
import { NATIVE_QUANTIZATIONS, Quantization } from './stages/convert.js';

/** Mean KLD a recipe may reach and still be recommended (llama.cpp measures q8_0 near 0.001, q4_K_M near 0.03 on Llama-3-8B). */
export const DEFAULT_MAX_KLD = 0.01;

/** The context the recipes are compared at unless asked otherwise. */
export const DEFAULT_RECIPES_KV = 1024;

export const RecipesParams = z
  .object({
    modelDir: z.string().min(1),
    /** Where each recipe's .tflite and .litertlm are written (<outDir>/<recipe>/). */
    outDir: z.string().min(1),
    /** Default: every recipe the native converter builds (NATIVE_QUANTIZATIONS). */
    recipes: z
      .array(Quantization)
      .min(1)
      .max(12)
      .default(() => [...NATIVE_QUANTIZATIONS]),
    kvCacheMaxLen: z.number().int().min(16).max(262_144).default(DEFAULT_RECIPES_KV),
    /** Default: the converter's default prefill lengths that fit the context. */
    prefillSeqLens: z.array(z.number().int().min(1).max(262_144)).min(1).max(16).optional(),
    corpus: CorpusOptions.default(() => CorpusOptions.parse({})),
    /** JSONL conversations for greedy agreement (default: the behaviour check's built-in prompts). */
    promptsFile: z.string().min(1).optional(),
    maxKld: z.number().positive().max(100).default(DEFAULT_MAX_KLD),
    /** Cap on generated tokens per greedy answer. */
    maxTokens: z.number().int().min(1).max(2048).default(32),
    /** Reference backend: auto (transformers when installed, else plain_lm), or one of them. */
    reference: z.enum(['auto', 'transformers', 'plain']).default('auto'),
  })
  .superRefine((p, ctx) => {
    const unsupported = p.recipes.filter((r) => !NATIVE_QUANTIZATIONS.includes(r));
    if (unsupported.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['recipes'], message: `The native converter does not build ${unsupported.join(', ')} (it builds ${NATIVE_QUANTIZATIONS.join(', ')}).` });
    }
    if (new Set(p.recipes).size !== p.recipes.length) ctx.addIssue({ code: 'custom', path: ['recipes'], message: 'A recipe is listed twice.' });
    const longest = p.prefillSeqLens ? Math.max(...p.prefillSeqLens) : 0;
    if (longest > p.kvCacheMaxLen) ctx.addIssue({ code: 'custom', path: ['prefillSeqLens'], message: `The longest prefill length (${longest}) exceeds the context length (${p.kvCacheMaxLen}).` });
  });
export type RecipesParams = z.infer<typeof RecipesParams>;
export type RecipesParamsInput = z.input<typeof RecipesParams>;

export const RecipeResult = z.object({
  recipe: Quantization,
  tflite: z.string(),
  bundle: z.string(),
  /** The .litertlm's size. */
  bytes: z.number().int().nonnegative(),
  tfliteBytes: z.number().int().nonnegative(),
  /** RAM the bundle needs on the device at this context (the memory estimator's device figure); null when the config is not one it knows. */
  deviceBytes: z.number().int().nonnegative().nullable(),
  corpus: CorpusMetrics.nullable(),
  /** Prompts whose greedy answer in the engine equals the reference's (text and stop). */
  greedyMatches: z.number().int().nonnegative(),
  prompts: z.number().int().nonnegative(),
  /** The engine's decode speed, mean over the prompts' greedy answers (wasm, CPU, this host). */
  decodeTokensPerSecond: z.number().nullable(),
  convertSeconds: z.number(),
  /** One sentence when this recipe could not be built or measured; its figures are then partial. */
  error: z.string().nullable(),
});
export type RecipeResult = z.infer<typeof RecipeResult>;

export const RecipesResult = z.object({
  modelDir: z.string(),
  outDir: z.string(),
  kvCacheMaxLen: z.number().int(),
  prefillSeqLens: z.array(z.number().int()),
  maxKld: z.number(),
  referenceBackend: z.string(),
  recipes: z.array(RecipeResult),
  /** The recipe to ship; null only when nothing could be measured. */
  recommended: Quantization.nullable(),
  /** Why, in one sentence. */
  reason: z.string(),
  /** Recipes on the size-versus-KLD Pareto front (no other is both smaller and closer). */
  pareto: z.array(Quantization),
});
export type RecipesResult = z.infer<typeof RecipesResult>;

/** The figures the rule looks at. */
export type RecipeFigures = Pick<RecipeResult, 'recipe' | 'bytes' | 'error'> & { corpus: Pick<CorpusMetrics, 'meanKld'> | null };

const kld = (x: number) => (x < 1e-4 ? x.toExponential(1) : x.toPrecision(2));

/**
 * The smallest bundle whose mean KLD is within `maxKld` (ties: the lower
 * KLD); when none is, the float one (`none`). Recipes that failed or have no
 * corpus figure are never recommended.
 */
export function recommendRecipe(results: readonly RecipeFigures[], maxKld: number): { recommended: Quantization | null; reason: string } {
  const measured = results.filter((r) => !r.error && r.corpus !== null && Number.isFinite(r.corpus.meanKld));
  if (measured.length === 0) {
    return { recommended: null, reason: 'No recipe could be measured, so none is recommended; see each recipe\'s error.' };
  }
  const within = measured.filter((r) => r.corpus!.meanKld <= maxKld).sort((a, b) => a.bytes - b.bytes || a.corpus!.meanKld - b.corpus!.meanKld);
  const best = within[0];
  if (best) {
    const smallerOver = measured.filter((r) => r.bytes < best.bytes && r.corpus!.meanKld > maxKld).sort((a, b) => a.bytes - b.bytes);
    const beyond = smallerOver.length > 0 ? `; the smaller ${smallerOver.map((r) => `${r.recipe} (${kld(r.corpus!.meanKld)})`).join(', ')} ${smallerOver.length === 1 ? 'goes' : 'go'} beyond it` : '';
    return {
      recommended: best.recipe,
      reason: `${best.recipe} is the smallest bundle (${formatBytes(best.bytes)}) whose mean KLD (${kld(best.corpus!.meanKld)} nats) stays within ${maxKld}${beyond}.`,
    };
  }
  const closest = [...measured].sort((a, b) => a.corpus!.meanKld - b.corpus!.meanKld)[0]!;
  const floatMeasured = results.some((r) => r.recipe === 'none');
  return {
    recommended: 'none',
    reason: `No recipe keeps the mean KLD within ${maxKld} (the closest, ${closest.recipe}, measures ${kld(closest.corpus!.meanKld)} nats), so ship the float bundle (none)${floatMeasured ? '' : ', which was not among the recipes compared'}.`,
  };
}

/** Recipes no other recipe beats on both size and mean KLD (one of them strictly). */
export function paretoFront(results: readonly RecipeFigures[]): Quantization[] {
  const measured = results.filter((r) => !r.error && r.corpus !== null);
  return measured
    .filter((r) => !measured.some((o) => o !== r && o.bytes <= r.bytes && o.corpus!.meanKld <= r.corpus!.meanKld && (o.bytes < r.bytes || o.corpus!.meanKld < r.corpus!.meanKld)))
    .sort((a, b) => a.bytes - b.bytes)
    .map((r) => r.recipe);
}
