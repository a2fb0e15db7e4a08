import { describe, expect, it } from 'vitest';
import { RecentCache } from './recentCache.js';

describe('RecentCache', () => {
  it('keeps the most recently used values up to its capacity', () => {
    const cache = new RecentCache<string, number>(2);
    expect(cache.set('a', 1)).toBe(1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3); // b goes
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c')]).toEqual([1, 3]);
    cache.set('a', 10); // replacing refreshes, never grows past capacity
    cache.set('d', 4); // c goes
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([10, undefined, 4]);
  });
});
