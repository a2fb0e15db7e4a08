import { describe, expect, it } from 'vitest';
import { PromptOutcome } from '../../common/stages/evaluate.js';
import { compareLogits, NOT_FINITE_ERROR } from './compare.js';

describe('compareLogits', () => {
  it('compares finite rows', () => {
    const ref = [new Float32Array([1, 2, 3])];
    const numeric = compareLogits(ref, [new Float32Array([1, 2, 2.5])]);
    expect(numeric.maxAbsLogitError).toBeCloseTo(0.5);
    expect(numeric.top1Agreement).toBe(1);
  });

  it('reports NaN or infinite logits as maximally wrong in numbers that survive JSON (the result must still parse)', () => {
    const ref = [new Float32Array([1, 2, 3]), new Float32Array([3, 2, 1])];
    for (const broken of [NaN, Infinity, -Infinity]) {
      const numeric = compareLogits(ref, [new Float32Array([1, broken, 3]), new Float32Array([3, 2, 1])]);
      const roundTrip = JSON.parse(JSON.stringify(numeric)) as typeof numeric;
      expect(roundTrip).toEqual({ positions: 2, maxAbsLogitError: NOT_FINITE_ERROR, meanKl: NOT_FINITE_ERROR, maxKl: NOT_FINITE_ERROR, top1Agreement: 0, firstTop1Miss: null });
      expect(PromptOutcome.shape.numeric.safeParse(roundTrip).success).toBe(true);
    }
  });
});
