/**
 * The platform the app ships on (issue 13, item 15): Electron on a major
 * upstream still supports (the latest three; 45 was the newest stable when
 * this was last moved), the CLI and serve mode on Node ≥ 20.19, the README
 * saying what each part requires, and a lockfile that matches package.json
 * so `npm install` has nothing to rewrite.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/serve.js';

const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string>; engines?: { node: string } }>;
};
/** The oldest Electron major upstream supported when the dependency was last moved (45 newest, 3 supported). */
const OLDEST_SUPPORTED_ELECTRON = 43;

const major = (version: string) => Number(/(\d+)/.exec(version)![1]);

describe('platform', () => {
  it('ships Electron on a major upstream supports, and locks that version', () => {
    const range = pkg.devDependencies.electron!;
    expect(major(range)).toBeGreaterThanOrEqual(OLDEST_SUPPORTED_ELECTRON);
    const locked = lock.packages['node_modules/electron']!.version!;
    expect(major(locked)).toBe(major(range));
  });

  it('keeps the lockfile consistent with package.json (npm install rewrites nothing)', () => {
    const root = lock.packages['']!;
    expect(root.dependencies).toEqual(pkg.dependencies);
    expect(root.devDependencies).toEqual(pkg.devDependencies);
    expect(root.engines).toEqual(pkg.engines);
    for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      const locked = lock.packages[`node_modules/${name}`]?.version;
      expect(locked, name).toBeDefined();
      // Caret ranges: the locked version has the range's major (and is not older than its floor).
      const floor = range.replace(/^[\^~]/, '');
      expect(major(locked!), name).toBe(major(floor));
    }
  });

  it('runs the CLI and serve mode on Node ≥ 20.19 and says in the README what each part requires', () => {
    expect(pkg.engines.node).toBe('>=20.19.0');
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/CLI \(`workbench …`\) and serve mode \| Node\.js ≥ 20\.19/);
    expect(readme).toContain(`| desktop app | Electron ${major(pkg.devDependencies.electron!)} `);
  });
});
