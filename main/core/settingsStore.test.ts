/**
 * Settings on a real SQLite file: an update with a problem is refused with
 * the Settings page's own sentence (in percent, not fractions), and what was
 * stored before is kept.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, settingsProblems } from '../common/settings.js';
import { History } from './history/history.js';
import { SettingsStore } from './settingsStore.js';

const openStore = () => new SettingsStore(new History(path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-settings-')), 'history.sqlite')));

describe('settingsProblems', () => {
  it('finds nothing wrong with the defaults', () => {
    expect(settingsProblems(DEFAULT_SETTINGS)).toEqual([]);
  });

  it('speaks in the units the page shows', () => {
    const memory = { ...DEFAULT_SETTINGS.memory, warnUsedFraction: 1.5, sampleIntervalMs: 0, consecutiveSamples: 2.5 };
    expect(settingsProblems({ ...DEFAULT_SETTINGS, memory }).map((p) => [p.field, p.message])).toEqual([
      ['warnUsedFraction', 'The warn level must be between 10 % and 100 % of RAM in use.'],
      ['consecutiveSamples', 'Consecutive samples must be a whole number from 1 to 100.'],
      ['sampleIntervalMs', 'The sampling period must be a whole number of milliseconds from 100 to 10,000.'],
    ]);
  });
});

describe('SettingsStore.update', () => {
  it('refuses a warn level at or above the stop level and keeps the stored settings', () => {
    const store = openStore();
    store.update({ memory: { warnUsedFraction: 0.7 } });
    expect(() => store.update({ memory: { warnUsedFraction: 0.95 } })).toThrow('The warn level (95 %) must be below the stop level (90 %)');
    expect(() => store.update({ memory: { stopUsedFraction: 0.7 } })).toThrow(/warn level \(70 %\) must be below the stop level \(70 %\)/);
    expect(store.get().memory).toMatchObject({ warnUsedFraction: 0.7, stopUsedFraction: 0.9 });
    expect(store.update({ memory: { warnUsedFraction: 0.8, stopUsedFraction: 0.85 } }).memory).toMatchObject({ warnUsedFraction: 0.8, stopUsedFraction: 0.85 });
  });
});
