/**
 * `npm run` prints its own banner ("> convert-workbench@0.1.0 workbench …") on
 * stdout, so `npm run workbench -- … --json` is not one JSON document. The
 * docs must show `npm run -s workbench` wherever they show the npm form.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/serve.js';

describe('README and docs', () => {
  it('run the CLI through npm silently (-s), so --json stays one document', () => {
    for (const file of ['README.md', 'docs/cli.md']) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      expect(text.match(/npm run (?!-s )[^`\n]*workbench/g) ?? [], file).toEqual([]);
    }
    expect(readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8')).toContain('npm run -s workbench -- …');
  });
});
