/**
 * The corpus metrics on synthetic distributions whose figures are known in
 * closed form, and the corpus rules on bytes (no model needed).
 */
import { describe, expect, it } from 'vitest';
import { PositionLog, positionFigures, quantile, summarizePositions } from './metrics.js';
import { parseCorpus } from './read.js';
import { cutWindows } from './windows.js';

const source = { path: '/c.txt', builtIn: false, format: 'text' as const, documents: 1 };

describe('positionFigures', () => {
  it('gives the closed-form KL of two known distributions', () => {
    // p = (1/2, 1/4, 1/4), q = (1/4, 1/2, 1/4) as logits (log-probabilities plus any constant).
    const p = [0.5, 0.25, 0.25];
    const q = [0.25, 0.5, 0.25];
    const ref = Float32Array.from(p.map((x) => Math.log(x) + 3));
    const bun = Float32Array.from(q.map((x) => Math.log(x) - 1));
    const f = positionFigures(ref, bun, 2);
    const kl = 0.5 * Math.log(2) + 0.25 * Math.log(0.5); // = 0.25 ln 2
    expect(f.kld).toBeCloseTo(kl, 6);
    expect(f.agree).toBe(false);
    expect(f.logpReference).toBeCloseTo(Math.log(0.25), 6);
    expect(f.logpBundle).toBeCloseTo(Math.log(0.25), 6);
    expect(positionFigures(ref, ref, 0).kld).toBe(0);
  });

  it('summarizes to perplexities, their ratio and RMS Δp', () => {
    const log = new PositionLog();
    log.startWindow();
    // Two positions: next token has p_ref = 1/2, 1/4 and p_bundle = 1/4, 1/4.
    const mk = (xs: number[]) => Float32Array.from(xs.map(Math.log));
    log.push(positionFigures(mk([0.5, 0.5]), mk([0.25, 0.75]), 0));
    log.push(positionFigures(mk([0.25, 0.75]), mk([0.25, 0.75]), 0));
    const m = summarizePositions(log, { source, corpusTokens: 3, windows: 1, windowTokens: 3, referenceSeconds: 0, bundleSeconds: 0 });
    expect(m.tokens).toBe(2);
    expect(m.pplReference).toBeCloseTo(Math.exp(-(Math.log(0.5) + Math.log(0.25)) / 2), 6);
    expect(m.pplBundle).toBeCloseTo(4, 5);
    expect(m.pplRatio).toBeCloseTo(4 / Math.sqrt(8), 5);
    expect(m.rmsDeltaP).toBeCloseTo(Math.sqrt((0.25 ** 2 + 0) / 2), 6);
    expect(m.top1Agreement).toBe(0.5);
    const kl0 = 0.5 * Math.log(0.5 / 0.25) + 0.5 * Math.log(0.5 / 0.75);
    expect(m.meanKld).toBeCloseTo(kl0 / 2, 6);
    expect(m.kldByPosition).toHaveLength(2);
  });

  it('quantile interpolates like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([0, 10], 0.99)).toBeCloseTo(9.9, 9);
  });
});

describe('corpus input', () => {
  it('cuts windows with BOS and drops a piece too short to score', () => {
    expect(cutWindows([1, 2, 3, 4, 5], 3, 9)).toEqual([[9, 1, 2], [9, 3, 4], [9, 5]]);
    expect(cutWindows([1, 2, 3, 4, 5], 2, null)).toEqual([[1, 2], [3, 4]]);
  });

  it('refuses empty, binary and bad JSONL input with one sentence', () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(() => parseCorpus('/c.txt', enc(''))).toThrow('The corpus /c.txt is empty');
    expect(() => parseCorpus('/c.txt', enc(' \n\t'))).toThrow('holds only white space');
    expect(() => parseCorpus('/c.txt', Uint8Array.from([0xff, 0xfe, 0x41]))).toThrow('is not UTF-8 text');
    expect(() => parseCorpus('/c.jsonl', enc('{"text":"a"}\n{"text": 3}\n'))).toThrow('Line 2 of the corpus /c.jsonl is not a document');
    expect(parseCorpus('/c.jsonl', enc('{"text":"a"}\n\n{"messages":[{"role":"user","content":"hi"}]}\n')).documents).toHaveLength(2);
    expect(parseCorpus('/c.txt', enc('{ not json, just prose')).source.format).toBe('text');
  });
});
