/**
 * Reads and writes the user's settings in the history database, always
 * returning a complete, valid Settings object (defaults fill the gaps).
 */
import { WorkbenchError } from '../common/errors.js';
import { DEFAULT_SETTINGS, Settings, settingsProblems, type SettingsPatch } from '../common/settings.js';
import type { History } from './history/history.js';

const KEY = 'settings';

export class SettingsStore {
  constructor(private readonly history: History) {}

  get(): Settings {
    const stored = this.history.getSetting<unknown>(KEY);
    const parsed = Settings.safeParse(stored ?? {});
    // A value written by an older version that no longer validates falls back to defaults.
    return parsed.success ? parsed.data : DEFAULT_SETTINGS;
  }

  update(patch: SettingsPatch): Settings {
    const current = this.get();
    const merged = { ...current, ...patch, memory: { ...current.memory, ...(patch.memory ?? {}) } };
    // The same sentences the Settings page shows, before the schema's own (internal units) could speak.
    const problems = settingsProblems(merged as Settings);
    if (problems.length > 0) throw new WorkbenchError('invalid_settings', problems.map((p) => p.message).join(' '), { problems });
    const next = Settings.parse(merged);
    this.history.setSetting(KEY, next);
    return next;
  }

  reset(): Settings {
    this.history.deleteSetting(KEY);
    return this.get();
  }
}
