/**
 * A run report a person can send (issue 16, item 4): everything the run page
 * shows, gathered once from the history into one plain structure that the
 * Markdown and the self-contained HTML renderers (markdown.ts, html.ts) both
 * draw: parameters, stages (status, duration, notes), memory (peaks,
 * predicted against measured, the samples), the behaviour check with its
 * causes, and — when a stage recorded them — corpus metrics and the recipe
 * table. Works for any kind of run: a section whose data is absent is left
 * out, and a stage result nothing here knows is listed generically.
 */
import type { MemorySample } from '../../common/memory.js';
import type { RunDetail, StageRecord } from '../../common/runs.js';
import { CorpusMetrics as CorpusMetricsSchema } from '../../common/corpusMetrics.js';
import { RecipesResult } from '../../common/recipes.js';
import { EvaluateResult } from '../../common/stages/evaluate.js';

export interface ReportSource {
  getRun(runId: number): RunDetail;
  memorySamples(runId: number): (MemorySample & { stageId: number | null })[];
}

export interface Prediction {
  /** Which stage or preflight the figure belongs to. */
  label: string;
  expectedBytes: number;
  highBytes: number | null;
}

/** Corpus metrics as `evaluate --corpus` records them (main/common/corpusMetrics.ts). */
export interface CorpusMetrics {
  stage: string;
  source: string;
  values: { name: string; value: number }[];
  /** KLD per scored position (folded by maximum over `stride` positions), for the plot. */
  kldPerPosition: number[] | null;
  stride: number;
}

/** One row of a recipe comparison (main/common/recipes.ts). */
export interface RecipeRow {
  recipe: string;
  bytes: number | null;
  deviceBytes: number | null;
  meanKld: number | null;
  top1Agreement: number | null;
  pplRatio: number | null;
  greedy: string | null;
  decodeTokensPerSecond: number | null;
  error: string | null;
}

export interface RecipeTable {
  stage: string;
  rows: RecipeRow[];
  recommended: string | null;
  reason: string | null;
  /** The recipes on the size-versus-KLD Pareto front, as the stage recorded it. */
  pareto: string[];
}

export interface ReportModel {
  generatedAt: number;
  run: RunDetail;
  samples: (MemorySample & { stageId: number | null })[];
  predictions: Prediction[];
  evaluations: { stage: StageRecord; result: EvaluateResult }[];
  corpus: CorpusMetrics[];
  recipes: RecipeTable[];
  /** Stage results no section above renders: scalar fields, listed as they are. */
  otherResults: { stage: StageRecord; fields: { name: string; value: string }[] }[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Predicted peaks recorded by the preflights with the run (memory estimate, merge plan). */
function predictions(run: RunDetail): Prediction[] {
  const entries = run.overrides && Array.isArray(run.overrides.preflight) ? run.overrides.preflight : [];
  const out: Prediction[] = [];
  entries.forEach((entry: unknown, i: number) => {
    if (!isObject(entry)) return;
    const estimate = entry.memoryEstimate;
    if (isObject(estimate) && isObject(estimate.peakBytes) && num(estimate.peakBytes.expected) !== null) {
      out.push({ label: `memory preflight ${i + 1}`, expectedBytes: num(estimate.peakBytes.expected)!, highBytes: num(estimate.peakBytes.high) });
    } else if (num(entry.predictedPeakBytes) !== null) {
      out.push({ label: `merge preflight ${i + 1}`, expectedBytes: num(entry.predictedPeakBytes)!, highBytes: null });
    }
  });
  return out;
}

const CORPUS_FIELDS = ['tokens', 'meanKld', 'medianKld', 'p99Kld', 'maxKld', 'top1Agreement', 'pplReference', 'pplBundle', 'pplRatio', 'rmsDeltaP', 'meanDeltaP', 'referenceSeconds', 'bundleSeconds'] as const;

function corpusOf(stage: StageRecord, value: unknown): CorpusMetrics | null {
  const parsed = CorpusMetricsSchema.safeParse(value);
  if (!parsed.success) return null;
  const c = parsed.data;
  return {
    stage: `${stage.idx + 1}. ${stage.kind}`,
    source: `${c.source.builtIn ? 'built-in sample' : c.source.path} (${c.source.format}, ${c.source.documents} document${c.source.documents === 1 ? '' : 's'}); ${c.corpusTokens} tokens, ${c.windows} window${c.windows === 1 ? '' : 's'} of ${c.windowTokens}`,
    values: CORPUS_FIELDS.map((name) => ({ name, value: c[name] })),
    kldPerPosition: c.kldByPosition.length > 1 ? c.kldByPosition : null,
    stride: c.kldStride,
  };
}

function recipesOf(stage: StageRecord, value: unknown): RecipeTable | null {
  const parsed = RecipesResult.safeParse(value);
  if (!parsed.success) return null;
  const r = parsed.data;
  return {
    stage: `${stage.idx + 1}. ${stage.kind}`,
    rows: r.recipes.map((x) => ({
      recipe: x.recipe,
      bytes: x.bytes,
      deviceBytes: x.deviceBytes,
      meanKld: x.corpus?.meanKld ?? null,
      top1Agreement: x.corpus?.top1Agreement ?? null,
      pplRatio: x.corpus?.pplRatio ?? null,
      greedy: `${x.greedyMatches}/${x.prompts}`,
      decodeTokensPerSecond: x.decodeTokensPerSecond,
      error: x.error,
    })),
    recommended: r.recommended,
    reason: r.reason,
    pareto: r.pareto,
  };
}

function scalarFields(value: Record<string, unknown>, prefix = '', depth = 0): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const [key, v] of Object.entries(value)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out.push({ name, value: String(v) });
    else if (isObject(v) && depth < 1) out.push(...scalarFields(v, name, depth + 1));
    else if (Array.isArray(v)) out.push({ name, value: `${v.length} item${v.length === 1 ? '' : 's'}` });
  }
  return out.slice(0, 40);
}

export function buildReportModel(source: ReportSource, runId: number, now = Date.now()): ReportModel {
  const run = source.getRun(runId);
  const model: ReportModel = { generatedAt: now, run, samples: source.memorySamples(runId), predictions: predictions(run), evaluations: [], corpus: [], recipes: [], otherResults: [] };
  for (const stage of run.stages) {
    const result = stage.result;
    if (!result) continue;
    let known = false;
    const evaluation = EvaluateResult.safeParse(result.evaluation);
    if (evaluation.success) {
      model.evaluations.push({ stage, result: evaluation.data });
      known = true;
    }
    const corpus = corpusOf(stage, evaluation.success ? evaluation.data.corpus : undefined);
    if (corpus) model.corpus.push(corpus);
    const recipes = recipesOf(stage, result.recipes);
    if (recipes) {
      model.recipes.push(recipes);
      known = true;
    }
    if (!known) {
      const fields = scalarFields(result);
      if (fields.length > 0) model.otherResults.push({ stage, fields });
    }
  }
  return model;
}
