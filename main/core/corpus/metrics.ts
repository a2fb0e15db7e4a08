/**
 * The corpus metrics as pure functions: per scored position, KL(reference ‖
 * bundle) over the whole vocabulary, whether the argmax agrees, log p of the
 * actual next token on both sides and Δp = p_bundle − p_reference; then the
 * summary (mean, median, p99 KLD, top-1 agreement, both perplexities and
 * their ratio, RMS Δp) in llama.cpp's definitions. All in float64.
 */
import { KLD_PLOT_POINTS, type CorpusMetrics, type CorpusSource } from '../../common/corpusMetrics.js';

export interface PositionFigures {
  kld: number;
  agree: boolean;
  logpReference: number;
  logpBundle: number;
}

function logSumExp(row: Float32Array, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** One position: `reference` and `bundle` are raw logits over the same vocabulary, `next` the token that follows. */
export function positionFigures(reference: Float32Array, bundle: Float32Array, next: number): PositionFigures {
  const n = Math.min(reference.length, bundle.length);
  const lr = logSumExp(reference, n);
  const lb = logSumExp(bundle, n);
  let kld = 0;
  let argR = 0;
  let argB = 0;
  for (let i = 0; i < n; i++) {
    const r = reference[i]! - lr;
    const b = bundle[i]! - lb;
    const p = Math.exp(r);
    if (p > 0) kld += p * (r - b);
    if (reference[i]! > reference[argR]!) argR = i;
    if (bundle[i]! > bundle[argB]!) argB = i;
  }
  return { kld: Math.max(0, kld), agree: argR === argB, logpReference: reference[next]! - lr, logpBundle: bundle[next]! - lb };
}

/** Collects position figures in corpus order. */
export class PositionLog {
  readonly kld: number[] = [];
  readonly agree: boolean[] = [];
  readonly logpReference: number[] = [];
  readonly logpBundle: number[] = [];
  readonly windowStarts: number[] = [];

  startWindow(): void {
    this.windowStarts.push(this.kld.length);
  }

  push(f: PositionFigures): void {
    this.kld.push(f.kld);
    this.agree.push(f.agree);
    this.logpReference.push(f.logpReference);
    this.logpBundle.push(f.logpBundle);
  }
}

/** The q-quantile (0..1) of the values, linear between order statistics (numpy's default). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

/** The per-position KL for the plot: as is up to KLD_PLOT_POINTS, else the max of each run of `stride`. */
export function foldForPlot(kld: readonly number[], points = KLD_PLOT_POINTS): { values: number[]; stride: number } {
  if (kld.length <= points) return { values: [...kld], stride: 1 };
  const stride = Math.ceil(kld.length / points);
  const values: number[] = [];
  for (let i = 0; i < kld.length; i += stride) values.push(kld.slice(i, i + stride).reduce((m, x) => Math.max(m, x), 0));
  return { values, stride };
}

export interface SummaryContext {
  source: CorpusSource;
  corpusTokens: number;
  windows: number;
  windowTokens: number;
  referenceSeconds: number;
  bundleSeconds: number;
}

export function summarizePositions(log: PositionLog, context: SummaryContext): CorpusMetrics {
  const n = log.kld.length;
  const mean = (xs: readonly number[]) => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);
  const meanLogpR = mean(log.logpReference);
  const meanLogpB = mean(log.logpBundle);
  const deltas = log.logpBundle.map((lb, i) => Math.exp(lb) - Math.exp(log.logpReference[i]!));
  const pplReference = Math.exp(-meanLogpR);
  const pplBundle = Math.exp(-meanLogpB);
  const plot = foldForPlot(log.kld);
  return {
    source: context.source,
    corpusTokens: context.corpusTokens,
    windows: context.windows,
    windowTokens: context.windowTokens,
    tokens: n,
    meanKld: mean(log.kld),
    medianKld: quantile(log.kld, 0.5),
    p99Kld: quantile(log.kld, 0.99),
    maxKld: log.kld.reduce((m, x) => Math.max(m, x), 0),
    top1Agreement: n === 0 ? 0 : log.agree.filter(Boolean).length / n,
    pplReference,
    pplBundle,
    pplRatio: pplBundle / pplReference,
    rmsDeltaP: Math.sqrt(mean(deltas.map((d) => d * d))),
    meanDeltaP: mean(deltas),
    kldByPosition: plot.values,
    kldStride: plot.stride,
    windowStarts: log.windowStarts,
    referenceSeconds: context.referenceSeconds,
    bundleSeconds: context.bundleSeconds,
  };
}
