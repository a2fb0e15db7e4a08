/**
 * The prefill-lengths field as text: what the user typed stays as typed
 * (commas and spaces included) while it is parsed, and what cannot become a
 * prefill length is said, not silently dropped.
 */
import { convertOptionProblems, DEFAULT_PREFILL_SEQ_LENS, MAX_PREFILL_LENGTHS } from '../../../main/common/stages/convert';

/** lengths is set when the text is a list of lengths that breaks a rule (it still goes into the plan, and the field says why). */
export type ParsedPrefill = { ok: true; lengths: number[] } | { ok: false; message: string; lengths?: number[] };

export function parsePrefillLengths(text: string, kvCacheMaxLen: number): ParsedPrefill {
  const parts = text.split(/[,\s]+/).filter((part) => part !== '');
  if (parts.length === 0) return { ok: false, message: 'Give at least one prefill length.' };
  const bad = parts.filter((part) => !/^\d+$/.test(part) || Number(part) < 1);
  if (bad.length > 0) return { ok: false, message: `Not a prefill length: ${bad.join(', ')} (whole numbers of 1 or more, separated by commas).` };
  const lengths = [...new Set(parts.map(Number))].sort((a, b) => a - b);
  if (lengths.length > MAX_PREFILL_LENGTHS) return { ok: false, message: `At most ${MAX_PREFILL_LENGTHS} prefill lengths: each becomes a signature the converter builds.` };
  const problem = convertOptionProblems({ prefillSeqLens: lengths, kvCacheMaxLen, route: 'example', quantize: 'dynamic_int8', lightweightConversion: false, maskAsInput: false, transposeKvCache: false }).find(
    (p) => p.field === 'prefillSeqLens',
  );
  return problem ? { ok: false, message: problem.message, lengths } : { ok: true, lengths };
}

/** The converter's default prefill lengths that fit a context. */
export function defaultPrefillFor(kvCacheMaxLen: number): number[] {
  return DEFAULT_PREFILL_SEQ_LENS.filter((length) => length <= kvCacheMaxLen);
}

/**
 * The prefill lengths after the context changes: a list of the defaults (as
 * trimmed for the previous context) follows the new context — longer ones
 * dropped, ones that fit again restored; a list the user typed stays as
 * typed, and the field says when it no longer fits.
 */
export function prefillForContext(lengths: readonly number[], previousKv: number, nextKv: number): number[] {
  const sorted = [...lengths].sort((a, b) => a - b);
  const isDefaults = sorted.join() === defaultPrefillFor(previousKv).join() || sorted.join() === DEFAULT_PREFILL_SEQ_LENS.join();
  return isDefaults && defaultPrefillFor(nextKv).length > 0 ? defaultPrefillFor(nextKv) : [...lengths];
}

/** The defaults the context leaves out, when the list is the trimmed defaults (for the note at the field). */
export function droppedDefaults(lengths: readonly number[], kvCacheMaxLen: number): number[] {
  const trimmed = defaultPrefillFor(kvCacheMaxLen);
  if ([...lengths].sort((a, b) => a - b).join() !== trimmed.join()) return [];
  return DEFAULT_PREFILL_SEQ_LENS.filter((length) => length > kvCacheMaxLen);
}
