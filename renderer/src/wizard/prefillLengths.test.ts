import { describe, expect, it } from 'vitest';
import { droppedDefaults, parsePrefillLengths, prefillForContext } from './prefillLengths';

describe('prefill lengths and the context', () => {
  it('trims the defaults to a shorter context and restores them for a longer one', () => {
    const trimmed = prefillForContext([8, 64, 128, 256, 512, 1024], 4096, 512);
    expect(trimmed).toEqual([8, 64, 128, 256, 512]);
    expect(droppedDefaults(trimmed, 512)).toEqual([1024]);
    expect(prefillForContext(trimmed, 512, 4096)).toEqual([8, 64, 128, 256, 512, 1024]);
    expect(droppedDefaults([8, 64, 128, 256, 512, 1024], 4096)).toEqual([]);
  });

  it('keeps a typed list as typed, and reports what no longer fits with the list itself', () => {
    expect(prefillForContext([8, 2048], 4096, 1024)).toEqual([8, 2048]);
    expect(parsePrefillLengths('8, 2048', 1024)).toEqual({ ok: false, message: 'The longest prefill length (2048) exceeds the context length (1024).', lengths: [8, 2048] });
    expect(parsePrefillLengths('8, abc', 1024)).toMatchObject({ ok: false, message: expect.stringContaining('abc') });
    expect(parsePrefillLengths('8, abc', 1024)).not.toHaveProperty('lengths');
  });
});
