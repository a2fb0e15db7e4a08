/**
 * Probe answers are reused only while the interpreter file and the salt are
 * unchanged: a real script standing in for an interpreter counts how often
 * it was actually run.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cachedProbe, environmentSalt, forgetProbes } from './probeCache.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-probe-cache-'));
const interpreter = path.join(dir, 'python3');
const counter = path.join(dir, 'runs.txt');

function runs(): number {
  try {
    return readFileSync(counter, 'utf8').length;
  } catch {
    return 0;
  }
}

/** Runs the stand-in interpreter (it appends one byte per run) and returns what it printed. */
function probe(): Promise<string> {
  return new Promise((resolve, reject) => execFile(interpreter, (error, stdout) => (error ? reject(error) : resolve(stdout.trim()))));
}

beforeEach(() => {
  forgetProbes();
  writeFileSync(interpreter, `#!/bin/sh\nprintf x >> '${counter}'\necho 3.11.2\n`);
  chmodSync(interpreter, 0o755);
  rmSync(counter, { force: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cachedProbe', () => {
  it('runs the interpreter once for repeated and concurrent questions', async () => {
    const answers = await Promise.all([cachedProbe('version', interpreter, '', probe), cachedProbe('version', interpreter, '', probe)]);
    expect(answers).toEqual(['3.11.2', '3.11.2']);
    expect(await cachedProbe('version', interpreter, '', probe)).toBe('3.11.2');
    expect(runs()).toBe(1);
    // Another kind of question is asked anew.
    await cachedProbe('torch', interpreter, '', probe);
    expect(runs()).toBe(2);
  });

  it('asks again when the interpreter file or the salt changes, or after forgetProbes', async () => {
    await cachedProbe('version', interpreter, 'a', probe);
    utimesSync(interpreter, new Date(), new Date(Date.now() + 5_000));
    await cachedProbe('version', interpreter, 'a', probe);
    expect(runs()).toBe(2);
    await cachedProbe('version', interpreter, 'b', probe);
    expect(runs()).toBe(3);
    forgetProbes();
    await cachedProbe('version', interpreter, 'b', probe);
    expect(runs()).toBe(4);
  });

  it('never remembers a failed probe or a file it cannot see', async () => {
    await expect(cachedProbe('version', interpreter, '', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await cachedProbe('version', interpreter, '', probe)).toBe('3.11.2');
    const missing = path.join(dir, 'missing-python');
    let calls = 0;
    const count = async () => ++calls;
    await cachedProbe('version', missing, '', count);
    await cachedProbe('version', missing, '', count);
    expect(calls).toBe(2);
  });

  it('salts with the environment folder and its marker, so a setup is seen at once', async () => {
    const venv = path.join(dir, 'venv');
    const marker = path.join(venv, 'workbench-env.json');
    const before = await environmentSalt(venv, marker);
    // What bootstrap.py does: create the folder, and write the marker when the install is done.
    mkdirSync(venv, { recursive: true });
    const created = await environmentSalt(venv, marker);
    writeFileSync(marker, '{"route":"example"}');
    const done = await environmentSalt(venv, marker);
    expect(new Set([before, created, done]).size).toBe(3);
  });
});
