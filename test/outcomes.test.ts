/**
 * Outcomes recorded as they happened (issue 13, item 12): a stage stopped
 * after it published its output keeps the artifact and says so; the guard's
 * stop line, a stage's refusal and "Cancelled by the user." appear once in
 * the run log and once in the terminal. (A run found interrupted keeps the
 * time of its last sign of life: test/crash-recovery.test.ts.) Real child
 * processes, a real SQLite history, the built CLI.
 */
import { execa } from 'execa';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { History } from '../main/core/history/history.js';
import { createHarness, selftestPlan, type Harness } from './helpers/runnerHarness.js';
import { CLI, freshDataDir, waitFor } from './helpers/serve.js';
import { writeQwenLikePair } from './support/mergeSupport.js';

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.dispose();
  harness = null;
});

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('a stage stopped after it published its output', () => {
  it('keeps the artifact, records it and says so', async () => {
    harness = createHarness({ killGraceMs: 500 });
    harness.use('publishes-then-waits.mjs');
    const runId = await harness.runner.start(selftestPlan());
    await waitFor(async () => harness!.history.getLogs(runId).some((line) => line.text === 'published'), 'the stage to publish');
    await harness.runner.cancel(runId);
    await harness.runner.whenIdle();
    const run = harness.history.getRun(runId);
    expect(run.status).toBe('cancelled');
    const artifact = run.artifacts.find((a) => a.kind === 'test-file');
    expect(artifact?.sizeBytes).toBe('a complete output'.length);
    expect(existsSync(artifact!.path)).toBe(true);
    expect(run.stages[0]!.error).toMatchObject({ code: 'cancelled', message: 'Cancelled by the user.', hint: `It had already published test-file ${artifact!.path}, which is complete and kept.` });
    const texts = harness.history.getLogs(runId).map((line) => line.text);
    expect(texts).toContain(`It had already published test-file ${artifact!.path}, which is complete and kept.`);
    expect(count(texts.join('\n'), 'Cancelled by the user.')).toBe(1);
  }, 30_000);
});

describe('what ends a run is said once', () => {
  function cli(args: string[], dataDir: string, env: Record<string, string> = {}) {
    return execa(process.execPath, [CLI, '--data-dir', dataDir, ...args], { reject: false, env, timeout: 60_000 });
  }
  function runLog(dataDir: string, runId: number): string {
    const history = new History(path.join(dataDir, 'history.sqlite'));
    try {
      return history.getLogs(runId, { limit: 100_000 }).map((line) => line.text).join('\n');
    } finally {
      history.close();
    }
  }

  it("the memory guard's stop, in the terminal and in the run log", async () => {
    const dataDir = freshDataDir('wb-once-guard');
    const plan = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-once-')), 'plan.json');
    writeFileSync(plan, JSON.stringify({ stages: [{ kind: 'selftest', params: { durationSeconds: 20, logLines: 0, allocateMiB: 900 } }] }));
    // A simulated 1 GiB host: the guard's stop level (90 %) is reached as the stage allocates.
    const result = await cli(['run', '--plan', plan], dataDir, { WORKBENCH_SIMULATE_HOST_RAM: '1G' });
    expect(result.exitCode, result.stderr).toBe(4);
    const stop = /Stopped by the memory guard[^\n]*/.exec(result.stderr)?.[0];
    expect(stop).toBeDefined();
    expect(count(result.stderr, 'Stopped by the memory guard')).toBe(1);
    expect(count(runLog(dataDir, 1), 'Stopped by the memory guard')).toBe(1);
  }, 90_000);

  it('a merge refusal, in the terminal and in the run log', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-once-merge-'));
    const small = await writeQwenLikePair(path.join(work, 'small'), { layers: 2 });
    const large = await writeQwenLikePair(path.join(work, 'large'), { layers: 3 });
    const dataDir = freshDataDir('wb-once-merge');
    // An adapter for three layers on a two-layer base: its third layer's modules are missing, so it cannot merge.
    const result = await cli(['merge', '--base', small.baseDir, '--adapter', large.adapterDir, '--out', path.join(work, 'merged')], dataDir);
    expect(result.exitCode, result.stderr).toBe(3);
    const refusal = /(error: )?(.*which the base model does not have.*)/.exec(result.stderr)?.[2];
    expect(refusal, result.stderr).toBeDefined();
    const sentence = refusal!.split(' — ')[0]!.trim();
    expect(count(result.stderr, sentence)).toBe(1);
    if (existsSync(path.join(dataDir, 'history.sqlite')) && result.stderr.includes('Run 1 started')) expect(count(runLog(dataDir, 1), sentence)).toBe(1);
  }, 90_000);

  it('"Cancelled by the user.", in the terminal and in the run log', async () => {
    const dataDir = freshDataDir('wb-once-cancel');
    const plan = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-once-')), 'plan.json');
    writeFileSync(plan, JSON.stringify({ stages: [{ kind: 'selftest', params: { durationSeconds: 30, logLines: 10 } }] }));
    const child = execa(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--plan', plan], { reject: false, timeout: 60_000 });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(async () => stderr.includes('Run 1 started'), 'the run to start');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.kill('SIGINT');
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(count(stderr, 'Cancelled by the user.')).toBe(1);
    expect(count(runLog(dataDir, 1), 'Cancelled by the user.')).toBe(1);
  }, 90_000);
});
