/**
 * `workbench doctor` names where the data lives (the README's table): the
 * folder, the history database, run folders, the Python environment and the
 * stage scripts it runs.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { venvDir } from '../../core/env/python.js';
import { pythonEnvPath } from '../../core/paths.js';
import { printLocations } from './doctor.js';

describe('doctor locations', () => {
  it('prints the data folder, history database, runs, Python environment and stage scripts', () => {
    const out: string[] = [];
    const dataDir = path.join('/home/ana/.config', 'Convert Workbench');
    printLocations(dataDir, { out: (text) => out.push(text) });
    expect(out.join('\n')).toBe(
      [
        'Locations:',
        `  data folder   ${dataDir}`,
        `  history       ${path.join(dataDir, 'history.sqlite')}  (runs, logs, settings)`,
        `  run folders   ${path.join(dataDir, 'runs')}`,
        `  python env    ${venvDir(dataDir)}`,
        `  stage scripts ${pythonEnvPath()}`,
        '',
      ].join('\n'),
    );
    expect(venvDir(dataDir).startsWith(dataDir)).toBe(true);
  });
});
