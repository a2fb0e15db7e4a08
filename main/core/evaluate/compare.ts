/**
 * The measurements of the behaviour check, as pure functions: where two
 * answers part ways, how much an answer repeats itself (a loop detector), the
 * teacher-forced numeric comparison of two logit sequences (max |error|, KL,
 * top-1 agreement) and the summary that names the likely cause by joining the
 * measurements with the fidelity checks.
 */
import type { Answer, Divergence, EvaluateSummary, PromptNumeric, PromptOutcome } from '../../common/stages/evaluate.js';

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
    return { positions: n, maxAbsLogitError: NOT_FINITE_ERROR, meanKl: NOT_FINITE_ERROR, maxKl: NOT_FINITE_ERROR, top1Agreement: 0 };
  }
  let maxAbs = 0;
  let klSum = 0;
  let klMax = 0;
  let agree = 0;
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
    if (argmax(r.subarray(0, len)) === argmax(a.subarray(0, len))) agree++;
  }
  return { positions: n, maxAbsLogitError: maxAbs, meanKl: n ? klSum / n : 0, maxKl: klMax, top1Agreement: n ? agree / n : 0 };
}

export interface FailingCheck {
  id: string;
  status: string;
  explanation: string;
}

const LOOP_SHARE = 0.5;

/** Counts, the likely causes (measurements joined with failing checks) and a one-sentence verdict. */
export function summarize(prompts: readonly PromptOutcome[], checks: readonly FailingCheck[], context: { bundleStopTokens: string[]; referenceStopText: (p: PromptOutcome) => string | null }): EvaluateSummary {
  const n = prompts.length;
  const same = (a: Answer, b: Answer) => !a.error && !b.error && a.text === b.text && a.stopped === b.stopped;
  const bundleMatches = prompts.filter((p) => same(p.reference, p.bundle)).length;
  const greedyMatches = prompts.filter((p) => same(p.reference, p.greedy)).length;
  const bundleNeverStopped = prompts.filter((p) => !p.bundle.error && !p.bundle.stopped).length;
  const referenceStopped = prompts.filter((p) => p.reference.stopped).length;
  const loops = prompts.filter((p) => p.repetition >= LOOP_SHARE).length;
  const errors = prompts.filter((p) => p.bundle.error).length;
  const failing = (prefix: string) => checks.filter((c) => c.id.startsWith(prefix));
  const causes: string[] = [];

  if (errors > 0) causes.push(`The engine could not answer ${errors}/${n} prompts with the bundle's own metadata: ${prompts.find((p) => p.bundle.error)!.bundle.error}`);
  if (bundleNeverStopped > 0 && referenceStopped > 0) {
    const stopTexts = [...new Set(prompts.map(context.referenceStopText).filter((t): t is string => Boolean(t)))];
    const missing = stopTexts.filter((t) => !context.bundleStopTokens.includes(t));
    const stopChecks = failing('stop-tokens');
    causes.push(
      `The bundle never stopped in ${bundleNeverStopped}/${n} prompts; the reference stopped on ${stopTexts.join(', ') || 'its stop token'}${missing.length > 0 ? `, which ${missing.length === 1 ? 'is' : 'are'} not a stop token of the bundle (${context.bundleStopTokens.join(', ') || 'none'})` : ''}${stopChecks.length > 0 ? ` [${stopChecks.map((c) => c.id).join(', ')}]` : ''}.`,
    );
  }
  const promptChecks = [...failing('prompt-format'), ...failing('start-token'), ...failing('engine.typed-content')];
  const greedyEarly = prompts.filter((p) => p.greedyDivergence.token === 0 && !p.greedy.error).length;
  if (greedyEarly > 0 && promptChecks.length > 0) {
    causes.push(`Greedy answers already differ at the first token in ${greedyEarly}/${n} prompts: the prompt the runtime renders is not the model's (${promptChecks.map((c) => `${c.id}: ${c.explanation}`).join(' ')})`);
  }
  const sampler = failing('sampling').concat(failing('engine.sampler-type'));
  if (greedyMatches > bundleMatches) {
    causes.push(`Greedy decoding matches the reference in ${greedyMatches}/${n} prompts but the bundle's own sampler only in ${bundleMatches}/${n}: its sampler settings are a cause${sampler.length > 0 ? ` (${sampler.map((c) => c.id).join(', ')})` : ''}.`);
  }
  if (loops > 0) causes.push(`The bundle's answer repeats itself (≥ ${LOOP_SHARE * 100}% repeated 3-grams) in ${loops}/${n} prompts${failing('sampling.repetition-penalty').length > 0 ? '; the model expects a repetition penalty the runtime cannot apply' : ''}.`);
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
  if (numeric && numeric.maxAbsLogitError >= NOT_FINITE_ERROR) {
    causes.push(`The logits are not finite (NaN or infinity) in ${numericRows.filter((x) => x.maxAbsLogitError >= NOT_FINITE_ERROR).length}/${numericRows.length} prompts: the conversion produced a broken model (check config.json values such as rope_theta and rms_norm_eps).`);
  } else if (numeric && numeric.top1Agreement < 0.9) {
    causes.push(`The .tflite itself departs from the reference: top-1 agreement ${(numeric.top1Agreement * 100).toFixed(0)}% over ${positions} teacher-forced positions (max |logit error| ${numeric.maxAbsLogitError.toFixed(3)}); the conversion or its quantization is a cause.`);
  }
  const text =
    bundleMatches === n
      ? `The bundle's answers match the reference in all ${n} prompts.`
      : `The bundle's answers differ from the reference in ${n - bundleMatches}/${n} prompts${causes.length > 0 ? `: ${causes[0]}` : '.'}`;
  return { prompts: n, bundleMatches, greedyMatches, bundleNeverStopped, referenceStopped, loops, causes, text, numeric };
}
