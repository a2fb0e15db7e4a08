/**
 * A build cache for expensive test fixtures (a trained demonstration model,
 * its converted and packaged bundles, the planted-fault bundles): several
 * test files need the same ones, and building each costs a Python training
 * run plus conversions. A fixture is built once per *content key* — the
 * SHA-256 of every source file that decides its bytes (the training script,
 * the converter, the packager, the test support that drives them) — so an
 * edit to any of them builds a fresh one, and a cached one is never stale.
 *
 * A complete build is renamed into place (a half-built one, from a killed
 * run, is never used); two workers building the same key at once both
 * finish and the first rename wins. Callers that write next to the fixture
 * copy it first (`copyFixture`), so the cache itself is never modified.
 * `WORKBENCH_TEST_CACHE` moves the cache (an empty folder measures a cold
 * run); the default is a folder in the system's temporary directory.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from './python.js';

export const CACHE_ROOT = process.env.WORKBENCH_TEST_CACHE ?? path.join(os.tmpdir(), 'workbench-test-cache');

/** Every file under the given repository paths (files or folders), sorted, tests excluded. */
function sourceFiles(sources: string[]): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(REPO, rel);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (!name.endsWith('.test.ts') && name !== '__pycache__') walk(path.join(rel, name));
    } else out.push(rel);
  };
  for (const s of sources) walk(s);
  return out;
}

/** The content key of a fixture: its name and the bytes (and paths) of its sources. */
export function fixtureKey(name: string, sources: string[]): string {
  const h = createHash('sha256').update(name);
  for (const rel of sourceFiles(sources)) h.update(`\0${rel}\0`).update(readFileSync(path.join(REPO, rel)));
  return h.digest('hex').slice(0, 16);
}

const building = new Map<string, Promise<string>>();

/**
 * The folder holding the fixture `name` built from `sources` by `build`
 * (called with an empty folder), built now unless a complete one is cached.
 */
export function cachedFixture(name: string, sources: string[], build: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(CACHE_ROOT, `${name}-${fixtureKey(name, sources)}`);
  let pending = building.get(dir);
  if (!pending) {
    pending = (async () => {
      if (existsSync(path.join(dir, '.complete'))) return dir;
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      try {
        await build(tmp);
        writeFileSync(path.join(tmp, '.complete'), '');
        if (!existsSync(path.join(dir, '.complete'))) {
          rmSync(dir, { recursive: true, force: true });
          try {
            renameSync(tmp, dir);
          } catch (error) {
            // Another worker renamed its complete build into place first: use that one.
            if (!existsSync(path.join(dir, '.complete'))) throw error;
          }
        }
      } finally {
        rmSync(tmp, { recursive: true, force: true });
      }
      return dir;
    })();
    building.set(dir, pending);
  }
  return pending;
}

/** Copies a cached fixture into `to` (created), so a test can write beside it without touching the cache. */
export function copyFixture(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true, filter: (src) => path.basename(src) !== '.complete' });
}
