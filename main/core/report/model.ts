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

/** Corpus metrics as the `evaluate --corpus` / `recipes` stages record them (issue 16, item 2), read loosely. */
export interface CorpusMetrics {
  stage: string;
  values: { name: string; value: number }[];
  /** KLD per position, when recorded, for the plot. */
  kldPerPosition: number[] | null;
}

/** One row of a recipe comparison (issue 16, item 3), read loosely. */
export interface RecipeRow {
  recipe: string;
  bytes: number | null;
  meanKld: number | null;
  top1Agreement: number | null;
  pplRatio: number | null;
  greedy: string | null;
  decodeTokensPerSecond: number | null;
}

export interface RecipeTable {
  stage: string;
  rows: RecipeRow[];
  recommended: string | null;
  reason: string | null;
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

const CORPUS_FIELDS = ['tokens', 'meanKld', 'medianKld', 'p99Kld', 'top1Agreement', 'pplReference', 'pplBundle', 'pplRatio', 'rmsDeltaP'];

function corpusOf(stage: StageRecord, value: unknown): CorpusMetrics | null {
  if (!isObject(value)) return null;
  const values = CORPUS_FIELDS.filter((f) => num(value[f]) !== null).map((name) => ({ name, value: num(value[name])! }));
  if (values.length === 0) return null;
  const perPosition = Array.isArray(value.kldPerPosition) ? value.kldPerPosition.filter((x): x is number => num(x) !== null) : null;
  return { stage: `${stage.idx + 1}. ${stage.kind}`, values, kldPerPosition: perPosition && perPosition.length > 1 ? perPosition : null };
}

function recipesOf(stage: StageRecord, result: Record<string, unknown>): RecipeTable | null {
  if (!Array.isArray(result.recipes)) return null;
  const rows: RecipeRow[] = result.recipes.filter(isObject).map((r) => {
    const corpus = isObject(r.corpus) ? r.corpus : {};
    const greedy = num(r.greedyMatches) !== null && num(r.prompts) !== null ? `${r.greedyMatches}/${r.prompts}` : null;
    return {
      recipe: String(r.recipe ?? '?'),
      bytes: num(r.bytes),
      meanKld: num(corpus.meanKld),
      top1Agreement: num(corpus.top1Agreement),
      pplRatio: num(corpus.pplRatio),
      greedy,
      decodeTokensPerSecond: num(r.decodeTokensPerSecond),
    };
  });
  if (rows.length === 0) return null;
  return { stage: `${stage.idx + 1}. ${stage.kind}`, rows, recommended: typeof result.recommended === 'string' ? result.recommended : null, reason: typeof result.reason === 'string' ? result.reason : null };
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
    const corpus = corpusOf(stage, result.corpus ?? (isObject(result.evaluation) ? result.evaluation.corpus : undefined));
    if (corpus) {
      model.corpus.push(corpus);
      known = true;
    }
    const recipes = recipesOf(stage, result);
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
