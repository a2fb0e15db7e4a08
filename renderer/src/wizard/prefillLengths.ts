/**
 * The prefill-lengths field as text: what the user typed stays as typed
 * (commas and spaces included) while it is parsed, and what cannot become a
 * prefill length is said, not silently dropped.
 */
import { convertOptionProblems, MAX_PREFILL_LENGTHS } from '../../../main/common/stages/convert';

export type ParsedPrefill = { ok: true; lengths: number[] } | { ok: false; message: string };

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
  return problem ? { ok: false, message: problem.message } : { ok: true, lengths };
}
