/**
 * Options and data directories the CLI must not take on trust (issue 13,
 * item 14): out-of-range numbers are usage errors (exit 2) naming the option,
 * `package --out` keeps an existing file unless --overwrite, a mistyped
 * --data-dir on a read-only command says there is no history there instead
 * of creating one, and `runs list` shows run names. Built CLI, real files.
 */
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, freshDataDir } from './helpers/serve.js';
import { writeQwenModelFolder } from './support/fidelityModels.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';

function cli(args: string[], dataDir = freshDataDir('wb-cli-options')) {
  return execa(process.execPath, [CLI, '--data-dir', dataDir, ...args], { reject: false, timeout: 60_000 });
}

describe('numeric options', () => {
  it('are usage errors naming the option and its range when out of range', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-options-'));
    const merge = ['merge', '--base', path.join(work, 'b'), '--adapter', path.join(work, 'a'), '--out', path.join(work, 'o')];
    const cases: [string[], RegExp][] = [
      [['--shard-size-mib', '0'], /^error: --shard-size-mib expects a whole number from 1 to 1000000, got "0"\.$/],
      [['--threads', '-1'], /^error: --threads expects a whole number from 0 to 256, got "-1"\.$/],
      [['--threads', '1000'], /^error: --threads expects a whole number from 0 to 256, got "1000"\.$/],
      [['--shard-size-mib', '1.5'], /^error: --shard-size-mib expects a whole number from 1 to 1000000, got "1\.5"\.$/],
    ];
    for (const [extra, message] of cases) {
      const result = await cli([...merge, ...extra]);
      expect(result.exitCode, extra.join(' ')).toBe(2);
      expect(result.stderr.trim()).toMatch(message);
    }
  }, 60_000);
});

describe('package --out', () => {
  it('refuses an existing file unless --overwrite, and keeps it unchanged', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-overwrite-'));
    const model = writeQwenModelFolder(path.join(work, 'model'));
    const tflite = path.join(work, 'model.tflite');
    await writeSyntheticTflite(tflite, { kvCacheMaxLen: 1024 });
    const out = path.join(work, 'model.litertlm');
    writeFileSync(out, 'a bundle I want to keep');
    const refused = await cli(['package', '--tflite', tflite, '--model', model, '--out', out]);
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toMatch(/^error: The output \S+model\.litertlm already exists; it is replaced only when you ask for it\.\nhint: Pass --overwrite to replace it, or choose another --out\.$/);
    expect(readFileSync(out, 'utf8')).toBe('a bundle I want to keep');
    const replaced = await cli(['package', '--tflite', tflite, '--model', model, '--out', out, '--overwrite', '--json']);
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    expect(readFileSync(out).subarray(0, 8).toString('latin1')).toBe('LITERTLM');
  }, 60_000);
});

describe('read-only commands on a data directory without a history', () => {
  it('say there is no history there and create nothing', async () => {
    const typo = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-typo-')), 'dta');
    const list = await cli(['runs', 'list'], typo);
    expect(list.exitCode).toBe(0);
    expect(list.stdout.trim()).toBe(`No history in ${typo}: nothing has run with this data directory yet (check --data-dir or WORKBENCH_DATA_DIR).`);
    const json = await cli(['runs', 'list', '--json'], typo);
    expect(JSON.parse(json.stdout)).toEqual({ runs: [], total: 0 });
    const show = await cli(['runs', 'show', '1'], typo);
    expect(show.exitCode).toBe(3);
    expect(show.stderr.trim()).toBe(`error: Run 1 does not exist: there is no history in ${typo} (check --data-dir or WORKBENCH_DATA_DIR).`);
    expect((await cli(['runs', 'logs', '1'], typo)).exitCode).toBe(3);
    expect(existsSync(typo)).toBe(false);
  }, 60_000);
});

describe('runs list', () => {
  it('shows each run by its name', async () => {
    const dataDir = freshDataDir('wb-run-names');
    const plan = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-names-')), 'plan.json');
    writeFileSync(plan, JSON.stringify({ name: 'nightly smoke test', stages: [{ kind: 'selftest', params: { durationSeconds: 0, logLines: 1 } }] }));
    expect((await cli(['run', '--plan', plan], dataDir)).exitCode).toBe(0);
    const list = await cli(['runs', 'list'], dataDir);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+STATUS/m);
    expect(list.stdout).toMatch(/^1\s+nightly smoke test\s+/m);
  }, 60_000);
});
