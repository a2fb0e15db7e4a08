/**
 * The order test files start in: longest first, so the two workers finish
 * together instead of one running a 4-minute file alone at the end. Vitest
 * does this from its own timing cache, but a fresh clone (CI) has none and
 * falls back to file size, which puts the slowest files (small files that
 * train a model or start engines) late. test/durations.json holds measured
 * seconds per file (from an idle full run, two workers); a file missing from it
 * runs first, as vitest runs unknown files first. Vitest's cache, when
 * present, still wins: it is this machine's own measurement.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const durations = JSON.parse(readFileSync(path.join(import.meta.dirname, 'durations.json'), 'utf8')) as Record<string, number>;

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (file: TestSpecification): number => {
      const key = `${file.project.name}:${path.relative(root, file.moduleId)}`;
      const cached = this.ctx.cache.getFileTestResults(key);
      return cached ? cached.duration / 1000 : (durations[path.relative(root, file.moduleId)] ?? Infinity);
    };
    return [...files].sort((a, b) => seconds(b) - seconds(a));
  }
}
