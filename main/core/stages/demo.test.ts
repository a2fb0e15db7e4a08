/**
 * The demo run's folder rules: "Run the demo" always gets a new folder under
 * the data directory, and the demo stage refuses a folder that holds a
 * finished demo (never overwritten silently) or a file, while a failed
 * demo's leftovers (no bundles yet) may be written over by its retry.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDemoFolder } from '../api/demoHandlers.js';
import { requireFreshDemoFolder } from './demo.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'demo-folder-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the demo folder', () => {
  it('is <dataDir>/demo/<UTC time>, with -2, -3 when taken', () => {
    const at = new Date(Date.UTC(2026, 11, 5, 20, 1, 58, 123));
    const first = freshDemoFolder(dir, at);
    expect(first).toBe(path.join(dir, 'demo', '2026-12-05-20-01-58'));
    mkdirSync(first, { recursive: true });
    mkdirSync(`${first}-2`);
    expect(freshDemoFolder(dir, at)).toBe(`${first}-3`);
  });

  it('refuses a finished demo and a file, accepts an absent folder and a failed demo’s leftovers', () => {
    const finished = path.join(dir, 'finished');
    mkdirSync(finished);
    writeFileSync(path.join(finished, 'demo-fixed.litertlm'), 'x');
    expect(() => requireFreshDemoFolder(finished)).toThrow(`${finished} already holds a demonstration (demo-fixed.litertlm); choose a new folder or delete that one.`);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => requireFreshDemoFolder(file)).toThrow(`${file} is a file; name a folder for the demonstration model and its bundles.`);
    expect(() => requireFreshDemoFolder(path.join(dir, 'absent'))).not.toThrow();
    const leftovers = path.join(dir, 'leftovers', 'demo-model');
    mkdirSync(leftovers, { recursive: true });
    writeFileSync(path.join(leftovers, 'config.json'), '{}');
    expect(() => requireFreshDemoFolder(path.dirname(leftovers))).not.toThrow();
  });
});
