/**
 * Smaller defects of the CLI and engine (issue 13, item 17): `package` does
 * not warn that max_num_tokens is unset when --metadata sets it; `check`
 * does not recommend --fix-metadata for a bundle whose tokenizer is not the
 * model's (the fix refuses it); package progress follows the input it reads
 * and says so, instead of stalling half-way and jumping to 100 %; a failure
 * that repeats on retry does not advise a retry. Built CLI, real files.
 */
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FidelityReport } from '../main/common/fidelity.js';
import type { RunDetail } from '../main/common/runs.js';
import { writeTestBundle } from './support/bundles.js';
import { CLI, freshDataDir } from './helpers/serve.js';
import { FIXTURES, writeQwenModelFolder } from './support/fidelityModels.js';

let work: string;
let modelDir: string;
const embeddingTflite = path.join(FIXTURES, 'tflite', 'dummy_embedding_cpu_model.tflite');

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'wb-smaller-'));
  modelDir = writeQwenModelFolder(path.join(work, 'model'));
});

function cli(args: string[], dataDir = freshDataDir('wb-smaller')) {
  return execa(process.execPath, [CLI, '--data-dir', dataDir, ...args], { reject: false, timeout: 60_000 });
}

describe('package', () => {
  it('does not warn that max_num_tokens is unset when --metadata sets it', async () => {
    // This .tflite has no KV-cache inputs, so nothing derives max_num_tokens.
    const derived = await cli(['package', '--tflite', embeddingTflite, '--model', modelDir, '--out', path.join(work, 'a.litertlm')]);
    expect(derived.exitCode, derived.stderr).toBe(0);
    expect(derived.stderr).toContain('warning: max_num_tokens is not set');
    const given = await cli(['package', '--tflite', embeddingTflite, '--model', modelDir, '--out', path.join(work, 'b.litertlm'), '--metadata', '{"maxNumTokens": 2048}']);
    expect(given.exitCode, given.stderr).toBe(0);
    expect(given.stderr).not.toContain('max_num_tokens is not set');
  }, 60_000);

  it('reports progress as the input is read, in steps, saying the figures are input', async () => {
    const result = await cli(['package', '--tflite', embeddingTflite, '--model', modelDir, '--out', path.join(work, 'c.litertlm')]);
    expect(result.exitCode, result.stderr).toBe(0);
    const steps = [...result.stderr.matchAll(/^packing: (\d+)% \(.* of input read\)$/gm)].map((m) => Number(m[1]));
    // The 11 MiB tokenizer.json is read in 1 MiB chunks: no step skips more than one tenth, and the last is 100 %.
    expect(steps.at(-1)).toBe(100);
    for (let i = 1; i < steps.length; i++) expect(steps[i]! - steps[i - 1]!, steps.join(',')).toBeLessThanOrEqual(20);
    expect(result.stderr).not.toMatch(/^writing: /m);
  }, 60_000);
});

describe('check', () => {
  it('does not recommend --fix-metadata when the bundle carries another tokenizer', async () => {
    const sibling = path.join(work, 'sibling');
    mkdirSync(sibling, { recursive: true });
    copyFileSync(path.join(FIXTURES, 'litertlm', 'tokenizer.json'), path.join(sibling, 'tokenizer.json'));
    const foreign = await writeTestBundle(path.join(work, 'foreign.litertlm'), modelDir, { metadata: { maxNumTokens: 1024, stopTokens: [{ tokenStr: '\n' }] }, tokenizerFrom: sibling });
    const text = await cli(['check', '--model', modelDir, '--bundle', foreign]);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).not.toContain('--fix-metadata');
    const json = JSON.parse((await cli(['check', '--model', modelDir, '--bundle', foreign, '--json'])).stdout) as FidelityReport;
    expect(json.items.find((i) => i.id === 'tokenizer.identical')?.status).toBe('fail');
    expect(json.items.some((i) => i.status !== 'pass' && i.fixableByMetadata)).toBe(true);
    expect(json.summary.fixAvailable).toBe(false);
  }, 90_000);
});

describe('a failure that repeats on retry', () => {
  it('does not advise retrying the run', async () => {
    const dataDir = freshDataDir('wb-smaller-retry');
    const plan = path.join(work, 'fail.json');
    writeFileSync(plan, JSON.stringify({ stages: [{ kind: 'selftest', params: { durationSeconds: 0.2, logLines: 1, failAt: 0.5 } }] }));
    const result = await cli(['run', '--plan', plan], dataDir);
    expect(result.exitCode).toBe(1);
    const run = JSON.parse((await cli(['runs', 'show', '1', '--json'], dataDir)).stdout) as RunDetail;
    const hint = (run.stages[0]!.error as { hint?: string }).hint ?? '';
    expect(hint).not.toMatch(/retry the run to continue/i);
    expect(hint).toMatch(/retrying the same run fails the same way/);
  }, 60_000);
});

describe('evaluate with a file that is not a bundle (issue 18, item 8)', () => {
  it('refuses it at once as bad input (exit 3), before any reference answer or run', async () => {
    const random = path.join(work, 'random.litertlm');
    writeFileSync(random, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    const dataDir = freshDataDir('wb-smaller-eval');
    for (const json of [[], ['--json']]) {
      const result = await cli(['evaluate', '--model', modelDir, '--bundle', random, ...json], dataDir);
      expect(result.exitCode, result.stderr).toBe(3);
      // --json: the sentence is the message of the one JSON error document on stdout.
      const said = json.length > 0 ? (JSON.parse(result.stdout) as { error: { message: string } }).error.message : result.stderr + result.stdout;
      expect(said).toContain(`${random} is not a LiteRT-LM bundle (it does not start with "LITERTLM").`);
    }
    // Refused by the preflight: no run was recorded, so no reference ran.
    const runs = await cli(['runs', 'list', '--json'], dataDir);
    const list = JSON.parse(runs.stdout) as unknown[] | { runs: unknown[] };
    expect(Array.isArray(list) ? list : list.runs).toEqual([]);
  }, 120_000);
});
