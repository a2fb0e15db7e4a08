/**
 * Runs the Python unit tests (python-env/tests, plain unittest) with Debian's
 * python3 so one `vitest run` covers both languages; fails when they fail or
 * when none ran.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { REPO, TEST_PYTHON } from './support/python.js';

it('python-env unit tests pass', async () => {
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(
      TEST_PYTHON,
      ['-m', 'unittest', 'discover', '-s', 'tests', '-t', '.', '-v'],
      { cwd: path.join(REPO, 'python-env'), timeout: 120_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
  // Skipped tests print their reason (e.g. the real converter is not installed here).
  for (const line of output.split('\n').filter((l) => l.includes('skipped'))) console.log(line.trim());
  expect(code, output).toBe(0);
  const ran = /Ran (\d+) tests?/.exec(output);
  expect(Number(ran?.[1] ?? 0), output).toBeGreaterThan(20);
}, 150_000);
