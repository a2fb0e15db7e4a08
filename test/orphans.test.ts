/**
 * Recovery after a crash stops a stage process that kept running on its own
 * (its whole tree), and only a process proven to be that stage: an unrelated
 * process that happens to hold a recorded pid is left alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../main/core/engine.js';
import { History } from '../main/core/history/history.js';
import { hostSnapshot } from '../main/core/host.js';
import { isAlive } from '../main/core/process/killTree.js';
import { stageParamsFile } from '../main/core/runner/orphans.js';
import { waitFor } from './helpers/serve.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.pid && isAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
});

const STUBBORN = "process.on('SIGTERM',()=>{}); setInterval(()=>{},1000)";

function spawnDetached(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore' });
  child.unref();
  children.push(child);
  return child;
}

describe('orphaned stage processes after a crash', () => {
  it('stops the stage tree named by the run, and nothing else', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-orphans-'));
    const history = new History(path.join(dataDir, 'history.sqlite'));
    const plan = { stages: [{ kind: 'selftest' as const, params: { durationSeconds: 1, logLines: 1, failAt: null, allocateMiB: 0 } }], allowPredictedOom: false };
    const runId = history.createRun({ plan, host: hostSnapshot(), owner: { pid: 999_999_999, token: 'crashed' } });
    const other = history.createRun({ plan, host: hostSnapshot(), owner: { pid: 999_999_999, token: 'crashed' } });
    const paramsFile = stageParamsFile(dataDir, runId, 0, 'selftest');
    mkdirSync(path.dirname(paramsFile), { recursive: true });
    writeFileSync(paramsFile, '{}');

    // The orphan: a stage process (own process group) with a grandchild, both ignoring SIGTERM.
    const stage = spawnDetached(['-e', `require('child_process').spawn(process.execPath, ['-e', ${JSON.stringify(STUBBORN)}], { stdio: 'ignore' }); ${STUBBORN}`, paramsFile]);
    // A bystander whose pid a stale record points at.
    const bystander = spawnDetached(['-e', STUBBORN]);
    await new Promise((resolve) => setTimeout(resolve, 300));

    for (const [id, pid] of [[runId, stage.pid!], [other, bystander.pid!]] as const) {
      history.setRunStatus(id, 'running');
      const stageId = history.getRun(id).stages[0]!.id;
      history.updateStage(stageId, { status: 'running', pid });
    }
    history.close();

    const engine = createEngine({ mode: 'cli', dataDir, monitors: [] });
    expect(engine.recoveredRunIds.sort()).toEqual([runId, other].sort());
    const stopped = await engine.orphansStopped;
    expect(stopped).toEqual([stage.pid]);
    await waitFor(async () => !isAlive(stage.pid!), 'the orphaned stage to die');
    expect(isAlive(bystander.pid!)).toBe(true);
    expect(engine.history.getLogs(runId).some((line) => line.text.includes(`Stopped the stage's process (pid ${stage.pid})`))).toBe(true);
    expect(engine.history.getRun(runId).status).toBe('interrupted');
    await engine.close();
  }, 20_000);
});
