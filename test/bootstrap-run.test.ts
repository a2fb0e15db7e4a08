/**
 * The bootstrap as a recorded run through the real engine and runner: the
 * `bootstrap` stage is launched with a Python found on this machine, its
 * progress and pip's output land in the history, and an unreachable package
 * index ends the run as failed with the stage's code and hint stored.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../main/core/engine.js';
import { venvPython } from '../main/core/env/python.js';

let dataDir: string;
let engine: Engine;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'bootstrap-run-'));
  engine = createEngine({ mode: 'cli', dataDir });
});

afterAll(async () => {
  await engine.close();
  await rm(dataDir, { recursive: true, force: true });
});

it('records the environment setup like any run, with the failure explained', async () => {
  const id = await engine.runner.start({
    name: 'Set up the example environment',
    stages: [{ kind: 'bootstrap', params: { route: 'example', indexUrl: 'http://127.0.0.1:9/simple', extraIndexUrl: 'none' } }],
    allowPredictedOom: false,
  });
  await engine.runner.whenIdle();
  const run = engine.history.getRun(id);
  expect(run.status).toBe('failed');
  const stage = run.stages[0]!;
  expect(stage.kind).toBe('bootstrap');
  expect(stage.error).toMatchObject({ code: 'index_unreachable' });
  expect(stage.error?.hint).toMatch(/proxy|internet/i);
  expect(existsSync(venvPython(dataDir))).toBe(true);
  const logs = engine.history.getLogs(id, { limit: 1000 });
  expect(logs.some((line) => line.text.includes('pip install'))).toBe(true);
}, 120_000);
