/**
 * A broken tokenizer.json through the built CLI, as real child processes
 * (issue 18: `"merges": "x"` printed a TypeError stack trace): `check` and
 * `inspect` end with one sentence on stderr and exit 3 (bad input). Needs
 * `npm run build`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distPath } from '../main/core/paths.js';
import { writeTestBundle } from './support/bundles.js';
import { QWEN25_GENERATION_CONFIG, writeQwenModelFolder } from './support/fidelityModels.js';

const run = promisify(execFile);
const CLI = distPath('main', 'cli.js');
let dir: string;
let bad: string;
let bundle: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first.`);
  dir = await mkdtemp(path.join(os.tmpdir(), 'tokenizer-bad-'));
  const good = writeQwenModelFolder(path.join(dir, 'good'), { generationConfig: QWEN25_GENERATION_CONFIG });
  bad = writeQwenModelFolder(path.join(dir, 'bad'), { generationConfig: QWEN25_GENERATION_CONFIG });
  const json = JSON.parse(readFileSync(path.join(bad, 'tokenizer.json'), 'utf8')) as { model: { merges: unknown } };
  json.model.merges = 'x';
  writeFileSync(path.join(bad, 'tokenizer.json'), JSON.stringify(json));
  bundle = await writeTestBundle(path.join(dir, 'good.litertlm'), good, { metadata: { stopTokens: [{ tokenIds: { ids: [151645] } }], maxNumTokens: 4096 } });
}, 300_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SENTENCE = /tokenizer in .*tokenizer\.json.* has "model\.merges" of "x", not a list of merges; use the tokenizer\.json saved with the model\./;

describe('a tokenizer.json with "merges": "x"', () => {
  it('check and inspect say so in one sentence and exit 3, without a stack trace', async () => {
    for (const args of [['check', '--model', bad, '--bundle', bundle], ['inspect', bad]]) {
      const { code, stdout, stderr } = await cli(args);
      expect(code, `${args[0]}: ${stderr}`).toBe(3);
      expect(stderr).toMatch(SENTENCE);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stdout + stderr).not.toMatch(/TypeError|\n\s+at /);
    }
  }, 600_000);
});
