/**
 * Recently used folders in a real history database: most recent first, no
 * duplicates, capped, vanished folders dropped, non-folders refused.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { History } from '../history/history.js';
import { MAX_RECENT, recentPaths, rememberPath } from './recent.js';

let dir: string;
let history: History;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wb-recent-'));
  history = new History(path.join(dir, 'history.sqlite'));
});
afterEach(() => {
  history.close();
  rmSync(dir, { recursive: true, force: true });
});

function folder(name: string): string {
  const full = path.join(dir, name);
  mkdirSync(full, { recursive: true });
  return full;
}

describe('recent folders', () => {
  it('keeps the most recent first, once, per kind, and survives reopening the database', () => {
    const a = folder('a');
    const b = folder('b');
    rememberPath(history, 'model', a);
    rememberPath(history, 'model', b);
    expect(rememberPath(history, 'model', a)).toEqual([a, b]);
    expect(recentPaths(history, 'adapter')).toEqual([]);
    history.close();
    history = new History(path.join(dir, 'history.sqlite'));
    expect(recentPaths(history, 'model')).toEqual([a, b]);
  });

  it('caps the list and drops folders that disappeared', () => {
    const folders = Array.from({ length: MAX_RECENT + 2 }, (_, i) => folder(`m${i}`));
    for (const f of folders) rememberPath(history, 'adapter', f);
    expect(recentPaths(history, 'adapter')).toHaveLength(MAX_RECENT);
    rmSync(folders.at(-1)!, { recursive: true });
    expect(recentPaths(history, 'adapter')[0]).toBe(folders.at(-2));
  });

  it('refuses files, missing folders and relative paths, leaving the list unchanged', () => {
    const a = folder('a');
    rememberPath(history, 'model', a);
    writeFileSync(path.join(dir, 'file.txt'), '');
    expect(() => rememberPath(history, 'model', path.join(dir, 'file.txt'))).toThrow(expect.objectContaining({ code: 'not_a_directory' }));
    expect(() => rememberPath(history, 'model', path.join(dir, 'missing'))).toThrow(expect.objectContaining({ code: 'not_a_directory' }));
    expect(() => rememberPath(history, 'model', 'a')).toThrow(expect.objectContaining({ code: 'path_not_absolute' }));
    expect(recentPaths(history, 'model')).toEqual([a]);
  });
});
