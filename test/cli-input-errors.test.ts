/**
 * Bad input to the built CLI, as real child processes: each case ends with
 * one sentence on stderr and the documented exit code, never a stack trace,
 * and relative paths mean what a terminal user means by them.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, freshDataDir } from './helpers/serve.js';
import { writeQwenModelFolder } from './support/fidelityModels.js';
import { writeQwenLikePair } from './support/mergeSupport.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';

function cli(args: string[], options: { cwd?: string; dataDir?: string } = {}) {
  return execa(process.execPath, [CLI, '--data-dir', options.dataDir ?? freshDataDir('wb-cli-errors'), ...args], { reject: false, cwd: options.cwd, timeout: 60_000 });
}

function expectOneSentence(result: { stderr: string }, pattern: RegExp): void {
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
}

describe('relative paths', () => {
  it('merge flags are relative to the current folder, not to the run folder', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-relative-'));
    await writeQwenLikePair(path.join(work, 'm'));
    const result = await cli(['merge', '--base', 'm/base', '--adapter', 'm/adapter', '--out', 'm/merged', '--json'], { cwd: work });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(path.join(work, 'm', 'merged', 'model.safetensors'))).toBe(true);
  }, 60_000);

  it("a plan file's paths are relative to the plan file", async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-relative-'));
    await writeQwenLikePair(path.join(work, 'plans', 'm'));
    writeFileSync(
      path.join(work, 'plans', 'plan.json'),
      JSON.stringify({ stages: [{ kind: 'merge', params: { baseDir: 'm/base', adapterDir: 'm/adapter', outDir: 'm/merged' } }] }),
    );
    const result = await cli(['run', '--plan', 'plans/plan.json', '--json'], { cwd: work });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(existsSync(path.join(work, 'plans', 'm', 'merged', 'model.safetensors'))).toBe(true);
  }, 60_000);
});

describe('file-system mistakes', () => {
  it('package --out naming a folder, and check --markdown into a missing folder', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-fs-'));
    const modelDir = writeQwenModelFolder(path.join(work, 'model'));
    const tflite = path.join(work, 'model.tflite');
    await writeSyntheticTflite(tflite, { kvCacheMaxLen: 4096 });
    const toFolder = await cli(['package', '--tflite', tflite, '--model', modelDir, '--out', work]);
    expect(toFolder.exitCode).toBe(3);
    expectOneSentence(toFolder, /The output .* is a folder; name the \.litertlm file to write\./);

    // A folder that cannot be made (Node's recursive mkdir would spin here forever) is said at once.
    const underProc = await cli(['package', '--tflite', tflite, '--model', modelDir, '--out', '/proc/workbench-nope/model.litertlm']);
    expect(underProc.exitCode).toBe(3);
    expectOneSentence(underProc, /Cannot create the folder \/proc\/workbench-nope: this file system does not allow it\./);

    const bundle = path.join(work, 'out', 'model.litertlm');
    expect((await cli(['package', '--tflite', tflite, '--model', modelDir, '--out', bundle])).exitCode).toBe(0);
    const markdown = await cli(['check', '--model', modelDir, '--bundle', bundle, '--markdown', path.join(work, 'missing', 'report.md')]);
    expect(markdown.exitCode).toBe(3);
    expectOneSentence(markdown, /Cannot use .*missing\/report\.md: no such file or folder\./);
  }, 60_000);

  it('a data directory that cannot be created, that is a file, or whose history is not a database', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-data-'));
    // Node's recursive mkdir spins forever under /proc; this must return at once. (A command that writes
    // the history: read-only ones never create it, cli-options.test.ts.)
    const plan = path.join(work, 'plan.json');
    writeFileSync(plan, JSON.stringify({ stages: [{ kind: 'selftest', params: { durationSeconds: 0 } }] }));
    const proc = await cli(['run', '--plan', plan], { dataDir: '/proc/workbench-nope' });
    expect(proc.exitCode).toBe(3);
    expectOneSentence(proc, /Cannot create the folder \/proc\/workbench-nope/);

    const file = path.join(work, 'afile');
    writeFileSync(file, 'x');
    const isFile = await cli(['runs', 'list'], { dataDir: file });
    expect(isFile.exitCode).toBe(3);
    expectOneSentence(isFile, /afile is a file, not a folder/);

    const garbage = path.join(work, 'garbage');
    mkdirSync(garbage);
    writeFileSync(path.join(garbage, 'history.sqlite'), 'this is not sqlite, but a user file that must survive'.repeat(200));
    const notDb = await cli(['runs', 'list'], { dataDir: garbage });
    expect(notDb.exitCode).toBe(3);
    expectOneSentence(notDb, /history\.sqlite is not a SQLite database/);
    expect(notDb.stderr).toContain('hint: Move the file aside');
  }, 60_000);
});
