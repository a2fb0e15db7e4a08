/**
 * The memory guard end to end: a real stage process and its grandchild
 * allocate steadily; the guard, judging a simulated 1 GB host so the test does
 * not depend on this machine's RAM, asks the runner to stop the tree before
 * the allocations reach their cap. The run is recorded as stopped by the guard
 * in a real SQLite history, a process outside the tree survives, and so does
 * the runner (a second run starts and finishes).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Settings } from '../main/common/settings.js';
import type { StagePlan } from '../main/common/stages/plan.js';
import { EventBus } from '../main/core/events.js';
import { History } from '../main/core/history/history.js';
import { hostSnapshot } from '../main/core/host.js';
import { createMemoryMonitor } from '../main/core/memory/monitor.js';
import { isAlive } from '../main/core/process/killTree.js';
import { Runner } from '../main/core/runner/runner.js';
import type { StageDefinition } from '../main/core/stages/definition.js';
import { decisionHostMemory } from '../main/core/memory/decisionHost.js';

const MiB = 1024 * 1024;
/** Each of the two processes stops allocating here: the "limit" the guard must beat. */
const CAP_MIB = 900;

// Allocates 8 MiB of touched memory every 40 ms up to CAP_MIB, writes its pid to a file.
const hog = (role: string) => `
  const fs = require('node:fs');
  fs.writeFileSync(process.argv[2] + '.${role}.pid', String(process.pid));
  const held = [];
  const timer = setInterval(() => {
    if (held.length * 8 >= ${CAP_MIB}) return;
    held.push(Buffer.alloc(8 * 1024 * 1024, 1));
  }, 40);
`;

let dir: string;
let history: History;
let bystander: ChildProcess;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-guard-'));
  history = new History(path.join(dir, 'history.sqlite'));
  await writeFile(path.join(dir, 'grandchild.cjs'), hog('grandchild'));
  await writeFile(
    path.join(dir, 'child.cjs'),
    `const { spawn } = require('node:child_process');
     spawn(process.execPath, [${JSON.stringify(path.join(dir, 'grandchild.cjs'))}, process.argv[2]], { stdio: 'inherit' });
     ${hog('child')}`,
  );
  // A process outside the stage's tree that must not be touched.
  bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
});

afterAll(async () => {
  bystander.kill('SIGKILL');
  history.close();
  await rm(dir, { recursive: true, force: true });
});

function runner(): Runner {
  const settings = Settings.parse({ memory: { sampleIntervalMs: 100, consecutiveSamples: 2, minAvailableMiB: 0 } });
  // allocateMiB > 0 launches the hog (child + grandchild), 0 a stage that finishes at once.
  const stage: StageDefinition<'selftest'> = {
    kind: 'selftest',
    title: 'Memory hog',
    launch: async (params) =>
      params.allocateMiB > 0
        ? { file: process.execPath, args: [path.join(dir, 'child.cjs'), path.join(dir, `run-${Date.now()}`)] }
        : { file: process.execPath, args: ['-e', 'console.log(JSON.stringify({ type: "result", data: { ok: true } }))'] },
  };
  const r = new Runner({
    history,
    events: new EventBus(),
    dataDir: dir,
    settings: () => settings,
    host: hostSnapshot,
    stageDefinition: () => stage as StageDefinition,
    preflightMemory: { calibration: () => undefined, hostMemory: () => decisionHostMemory() },
    // A 1 GB host with 200 MB used by others: the stop level (90 %) is reached when the tree holds 700 MB.
    monitors: [createMemoryMonitor({ hostOverride: { totalBytes: 1e9, baseUsedBytes: 200e6 } })],
    ownerToken: 'memory-guard-test',
    killGraceMs: 1000,
  });
  return r;
}

describe('memory guard through the runner', () => {
  it('stops the stage tree before its allocations reach the cap, records it, and spares everything else', async () => {
    const r = runner();
    const hogPlan: StagePlan = { kind: 'selftest', params: { durationSeconds: 0, logLines: 0, failAt: null, allocateMiB: 2 * CAP_MIB } };
    const quickPlan: StagePlan = { kind: 'selftest', params: { durationSeconds: 0, logLines: 0, failAt: null, allocateMiB: 0 } };
    const runId = await r.start({ name: 'guard test', stages: [hogPlan] });
    await r.whenIdle();

    const run = history.getRun(runId);
    expect(run.status).toBe('stopped_by_guard');
    const stage = run.stages[0]!;
    expect(stage.status).toBe('stopped_by_guard');
    expect(stage.error?.code).toBe('stopped_by_memory_guard');
    expect(stage.error?.message).toMatch(/Stopped by the memory guard: RAM in use stayed at \d+% of 954 MiB \(stop level 90%\)/);
    const details = stage.error?.details as { peakTreeRssBytes: number; reasons: string[]; thresholds: { stopUsedFraction: number } };
    expect(details.reasons).toContain('used_fraction');
    expect(details.thresholds.stopUsedFraction).toBe(0.9);
    // Stopped near the 700 MB threshold, far below the 2 × 900 MiB the two processes would reach.
    expect(details.peakTreeRssBytes).toBeGreaterThan(700e6);
    expect(details.peakTreeRssBytes).toBeLessThan(1.3e9);
    expect(details.peakTreeRssBytes).toBeLessThan(2 * CAP_MIB * MiB);

    // Samples were stored with the run and show the growth.
    const samples = history.memorySamples(runId);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    // Sampling goes on while the tree is being killed, so later samples may exceed the figure at the stop,
    // but never approach what the processes would have reached.
    const sampledPeak = Math.max(...samples.map((s) => s.treeRss));
    expect(sampledPeak).toBeGreaterThanOrEqual(details.peakTreeRssBytes);
    expect(sampledPeak).toBeLessThan(1.5e9);
    expect(samples.every((s) => s.stageId === stage.id)).toBe(true);

    // The guard's message is in the stage's log.
    const logs = history.getLogs(runId, { stageId: stage.id });
    expect(logs.some((l) => l.text.includes('Stopped by the memory guard'))).toBe(true);

    // Child and grandchild are gone; the bystander and this process are not.
    const pidFiles = (await import('node:fs')).readdirSync(dir).filter((f) => f.endsWith('.pid'));
    expect(pidFiles.length).toBe(2);
    for (const file of pidFiles) {
      const pid = Number(await readFile(path.join(dir, file), 'utf8'));
      expect(isAlive(pid)).toBe(false);
    }
    expect(isAlive(bystander.pid!)).toBe(true);

    // The runner is still usable: a second run completes normally.
    const second = await r.start({ stages: [quickPlan] });
    await r.whenIdle();
    expect(history.getRun(second).status).toBe('succeeded');
  });
});
