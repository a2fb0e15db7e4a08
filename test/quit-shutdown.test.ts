/**
 * Quitting the app with a stage running, at the core level (what
 * main/app/app.ts does on before-quit, without Electron): engine.close()
 * kills the running stage's whole process tree — including a grandchild that
 * left the process group and ignores SIGTERM — marks that run and any queued
 * run cancelled, and leaves a database the next start reads without
 * "recovering" anything.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../main/core/engine.js';
import { isAlive } from '../main/core/process/killTree.js';
import { registerStage } from '../main/core/stages/registry.js';
import { FIXTURE_STAGES } from './helpers/runnerHarness.js';
import { waitFor } from './helpers/serve.js';

let dataDir: string;
let engines: Engine[] = [];

afterEach(async () => {
  for (const engine of engines) await engine.close();
  engines = [];
  rmSync(dataDir, { recursive: true, force: true });
});

describe('quit with a running stage', () => {
  it('engine.close() kills the process tree and records the runs as cancelled', async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-quit-'));
    const pidFile = path.join(dataDir, 'grandchild.pid');
    // The self-test kind, launched as a fixture that starts a detached, SIGTERM-ignoring grandchild.
    registerStage({
      kind: 'selftest',
      title: 'Process tree',
      launch: async () => ({ file: process.execPath, args: [path.join(FIXTURE_STAGES, 'grandchild.mjs')], env: { GRANDCHILD_PID_FILE: pidFile, GRANDCHILD_DETACHED: '1' } }),
    });
    const engine = createEngine({ mode: 'electron', dataDir, killGraceMs: 500 });
    engines.push(engine);
    const running = await engine.runner.start({ stages: [{ kind: 'selftest', params: {} }] });
    const queued = await engine.runner.start({ stages: [{ kind: 'selftest', params: {} }] });
    await waitFor(async () => engine.history.getRun(running).stages[0]!.phase === 'spawned', 'the stage to start its grandchild');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(grandchild)).toBe(true);

    // close() returning at all is the point (a SIGTERM-ignoring grandchild must not hold it); the test's limit catches a hang.
    await engine.close();
    await waitFor(async () => !isAlive(grandchild), 'the grandchild to die');

    const after = createEngine({ mode: 'cli', dataDir });
    engines.push(after);
    expect(after.recoveredRunIds).toEqual([]);
    const first = after.history.getRun(running);
    expect(first.status).toBe('cancelled');
    expect(first.stages[0]!.status).toBe('cancelled');
    expect(after.history.getLogs(running).some((line) => line.text.includes('Cancelled because the app quit.'))).toBe(true);
    expect(after.history.getRun(queued).status).toBe('cancelled');
  });
});
