/**
 * The environment bootstrap against the real Python here: the virtual
 * environment is created in <dataDir>/python/venv, and with the package index
 * unreachable (a refused port on 127.0.0.1) the install ends quickly in one
 * actionable error event, never a hang. Re-running finds the unfinished
 * environment and resumes; a damaged one asks for Rebuild, which recreates it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BootstrapParams } from '../main/common/stages/bootstrap.js';
import { venvPython } from '../main/core/env/python.js';
import { bootstrapCommandLine } from '../main/core/stages/bootstrap.js';
import { runStageProcess, TEST_PYTHON } from './support/python.js';

let dataDir: string;
// Port 9 (discard) is closed here: connections are refused at once.
const OFFLINE = ['--index-url', 'http://127.0.0.1:9/simple', '--extra-index-url', 'none', '--pip-timeout', '2', '--pip-retries', '0', '--no-uv'];

async function bootstrap(input: Record<string, unknown>) {
  const params = BootstrapParams.parse(input);
  const paramsFile = path.join(dataDir, `params-${Date.now()}.json`);
  await writeFile(paramsFile, JSON.stringify(params));
  const launch = bootstrapCommandLine(params, { python: TEST_PYTHON, paramsFile, dataDir });
  const outcome = await runStageProcess(launch.file, [...launch.args, ...OFFLINE], { ...launch.env, PIP_CONFIG_FILE: '/dev/null' }, 120_000);
  return outcome;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bootstrap-stage-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('bootstrap stage with the index unreachable', () => {
  it('creates the venv, then fails the install with a clear error', async () => {
    const outcome = await bootstrap({ route: 'example' });
    expect(existsSync(venvPython(dataDir))).toBe(true);
    expect(outcome.code).toBe(1);
    const errors = outcome.events.filter((e) => e.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'index_unreachable' });
    expect(errors[0]?.type === 'error' && errors[0].message).toContain('127.0.0.1:9');
    expect(errors[0]?.type === 'error' && errors[0].hint).toMatch(/proxy|internet/i);
    const phases = outcome.events.flatMap((e) => (e.type === 'progress' && e.phase ? [e.phase] : []));
    expect(phases).toEqual(expect.arrayContaining(['choose python', 'create environment', 'install packages']));
    // pip's own output arrives as log lines.
    expect(outcome.events.some((e) => e.type === 'log' && e.text.includes('pip install'))).toBe(true);
    expect(outcome.text).toEqual([]);
  }, 120_000);

  it('resumes an unfinished environment instead of calling it broken', async () => {
    const outcome = await bootstrap({ route: 'example' });
    expect(outcome.events.some((e) => e.type === 'log' && /did not finish/.test(e.text))).toBe(true);
    expect(outcome.events.find((e) => e.type === 'error')).toMatchObject({ code: 'index_unreachable' });
  }, 120_000);

  it('asks for Rebuild when the venv is damaged, and Rebuild recreates it', async () => {
    await unlink(venvPython(dataDir));
    const damaged = await bootstrap({ route: 'example' });
    expect(damaged.events.find((e) => e.type === 'error')).toMatchObject({ code: 'env_broken' });
    const rebuilt = await bootstrap({ route: 'example', rebuild: true });
    expect(existsSync(venvPython(dataDir))).toBe(true);
    expect(rebuilt.events.some((e) => e.type === 'log' && e.text.startsWith('Removing'))).toBe(true);
    expect(rebuilt.events.find((e) => e.type === 'error')).toMatchObject({ code: 'index_unreachable' });
  }, 180_000);
});
