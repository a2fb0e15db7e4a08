/**
 * The measurements of the behaviour check, as pure functions: where two
 * answers part ways, how much an answer repeats itself (a loop detector), the
 * teacher-forced numeric comparison of two logit sequences (max |error|, KL,
 * top-1 agreement) and the summary: counts, the verdict and the causes
 * ranked by evidence (causes.ts).
 */
import type { Divergence, EvaluateSummary, PromptCause, PromptNumeric, PromptOutcome } from '../../common/stages/evaluate.js';
import { LOOP_SHARE, rankCauses, sameAnswer, type FailingCheck } from './causes.js';
import type { BundleFacts } from './promptInputs.js';

/** First difference of two token sequences and of their texts. */
export function divergence(refTokens: readonly number[], refPieces: readonly string[], refText: string, otherText: string): Divergence {
  if (refText === otherText) return { token: null, char: null };
  let char = 0;
  while (char < refText.length && char < otherText.length && refText[char] === otherText[char]) char++;
  // The first reference token whose text is not wholly inside the common prefix.
  let consumed = 0;
  let token = refTokens.length;
  for (let i = 0; i < refPieces.length; i++) {
    consumed += refPieces[i]!.length;
    if (consumed > char) {
      token = i;
      break;
    }
  }
  return { token, char };
}

/** Share of token 3-grams that repeat an earlier 3-gram of the same answer (0: none; near 1: a loop). */
export function repetitionShare(tokens: readonly number[], n = 3): number {
  if (tokens.length < n + 1) return 0;
  const seen = new Set<string>();
  let repeated = 0;
  let total = 0;
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(',');
    total++;
    if (seen.has(key)) repeated++;
    else seen.add(key);
  }
  return total === 0 ? 0 : repeated / total;
}

function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) if (v > max) max = v;
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** The error figure of logits that are NaN or infinite (the largest finite double, so JSON keeps it). */
export const NOT_FINITE_ERROR = Number.MAX_VALUE;

/** Reference rows against the .tflite's rows, position by position: max |logit error|, KL(ref ‖ tflite), top-1 agreement. */
export function compareLogits(reference: readonly Float32Array[], actual: readonly Float32Array[]): PromptNumeric {
  const n = Math.min(reference.length, actual.length);
  // NaN or infinite logits (a broken conversion, e.g. a degenerate rope_theta) compare as maximally wrong, in
  // numbers JSON can carry: NaN would reach the result as null and the behaviour check's result would not parse.
  const finite = (rows: readonly Float32Array[]) => rows.slice(0, n).every((row) => row.every(Number.isFinite));
  if (!finite(reference) || !finite(actual)) {
    return { positions: n, maxAbsLogitError: NOT_FINITE_ERROR, meanKl: NOT_FINITE_ERROR, maxKl: NOT_FINITE_ERROR, top1Agreement: 0, firstTop1Miss: null };
  }
  let maxAbs = 0;
  let klSum = 0;
  let klMax = 0;
  let agree = 0;
  let firstTop1Miss: PromptNumeric['firstTop1Miss'] = null;
  for (let p = 0; p < n; p++) {
    const r = reference[p]!;
    const a = actual[p]!;
    const len = Math.min(r.length, a.length);
    for (let i = 0; i < len; i++) maxAbs = Math.max(maxAbs, Math.abs(r[i]! - a[i]!));
    const lr = logSoftmax(r.subarray(0, len));
    const la = logSoftmax(a.subarray(0, len));
    let kl = 0;
    for (let i = 0; i < len; i++) kl += Math.exp(lr[i]!) * (lr[i]! - la[i]!);
    kl = Math.max(0, kl);
    klSum += kl;
    klMax = Math.max(klMax, kl);
    const ra = argmax(r.subarray(0, len));
    const aa = argmax(a.subarray(0, len));
    if (ra === aa) agree++;
    else firstTop1Miss ??= { position: p, reference: ra, bundle: aa };
  }
  return { positions: n, maxAbsLogitError: maxAbs, meanKl: n ? klSum / n : 0, maxKl: klMax, top1Agreement: n ? agree / n : 0, firstTop1Miss };
}

export type { FailingCheck } from './causes.js';

/**
 * Counts, the causes ranked by evidence (causes.ts) and the verdict: 'differ'
 * when an answer differs, 'latent' when all match but a check fails (that
 * may change other prompts), else 'match'.
 */
export function summarize(prompts: PromptOutcome[], checks: readonly FailingCheck[], facts: BundleFacts | null): { summary: EvaluateSummary; perPrompt: (PromptCause | null)[] } {
  const n = prompts.length;
  const bundleMatches = prompts.filter((p) => sameAnswer(p.reference, p.bundle)).length;
  const greedyMatches = prompts.filter((p) => sameAnswer(p.reference, p.greedy)).length;
  const bundleNeverStopped = prompts.filter((p) => !p.bundle.error && !p.bundle.stopped).length;
  const referenceStopped = prompts.filter((p) => p.reference.stopped).length;
  const loops = prompts.filter((p) => p.repetition >= LOOP_SHARE).length;
  const { causes, perPrompt } = rankCauses(prompts, facts, checks);
  const numericRows = prompts.map((p) => p.numeric).filter((x): x is PromptNumeric => x !== null && x.positions > 0);
  const positions = numericRows.reduce((s, x) => s + x.positions, 0);
  const numeric =
    positions > 0
      ? {
          positions,
          maxAbsLogitError: Math.max(...numericRows.map((x) => x.maxAbsLogitError)),
          meanKl: numericRows.reduce((s, x) => s + x.meanKl * x.positions, 0) / positions,
          top1Agreement: numericRows.reduce((s, x) => s + x.top1Agreement * x.positions, 0) / positions,
        }
      : null;
  const latent = causes.filter((c) => c.latent);
  const verdict = bundleMatches < n ? 'differ' : latent.length > 0 ? 'latent' : 'match';
  const modelNote = causes.find((c) => c.kind === 'model' && !c.latent);
  const text =
    verdict === 'differ'
      ? `The bundle's answers differ from the reference in ${n - bundleMatches}/${n} prompts; first cause: ${causes[0]!.text}`
      : verdict === 'latent'
        ? `The bundle's answers match the reference in all ${n} prompts, but not cleanly: ${latent[0]!.text}`
        : `The bundle's answers match the reference in all ${n} prompts.${modelNote ? ` ${modelNote.text}` : ''}`;
  return { summary: { prompts: n, bundleMatches, greedyMatches, bundleNeverStopped, referenceStopped, loops, verdict, causes, text, numeric }, perPrompt };
}
