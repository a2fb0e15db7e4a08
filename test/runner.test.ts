/**
 * The runner against real child processes and a real SQLite file: success,
 * protocol errors, crashes, cancellation of stubborn processes and of whole
 * process trees, retry reusing finished stages.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../main/core/process/killTree.js';
import { createHarness, selftestPlan, type Harness } from './helpers/runnerHarness.js';
import { waitFor } from './helpers/serve.js';

let harness: Harness;
afterEach(async () => harness?.dispose());

describe('runner', () => {
  it('runs a succeeding stage and records progress, logs, metrics, artifacts and result', async () => {
    harness = createHarness();
    harness.use('ok.mjs');
    const id = await harness.runner.start(selftestPlan());
    await harness.runner.whenIdle();
    const run = harness.history.getRun(id);
    expect(run.status).toBe('succeeded');
    const stage = run.stages[0]!;
    expect(stage.status).toBe('succeeded');
    expect(stage.progress).toBe(1);
    expect(stage.result).toEqual({ answer: 42 });
    expect(run.metrics).toEqual([expect.objectContaining({ name: 'tensors', value: 42, unit: 'count' })]);
    expect(run.artifacts).toHaveLength(1);
    expect(run.artifacts[0]).toMatchObject({ kind: 'test-file', sizeBytes: 14 });
    expect(run.artifacts[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    const texts = harness.history.getLogs(id).map((line) => `${line.source}:${line.level}:${line.text}`);
    expect(texts).toContain('event:info:structured log line');
    expect(texts).toContain('stdout:info:plain stdout line');
    expect(texts).toContain('stderr:warn:a warning on stderr');
    // The params file the stage got is kept with the run.
    expect(readFileSync(path.join(harness.dataDir, 'runs', String(id), 'stage-0-selftest.params.json'), 'utf8')).toContain('durationSeconds');
    // Events reached subscribers: run status changes, stage updates, log batches.
    expect(harness.events.some((e) => e.type === 'run' && e.run.id === id && e.run.status === 'succeeded')).toBe(true);
    expect(harness.events.some((e) => e.type === 'logs' && e.runId === id && e.lines.length > 0)).toBe(true);
  });

  it('records a protocol error with its code and hint, stops the run and skips later stages', async () => {
    harness = createHarness();
    harness.use('fails.mjs');
    const id = await harness.runner.start(selftestPlan(2));
    await harness.runner.whenIdle();
    const run = harness.history.getRun(id);
    expect(run.status).toBe('failed');
    expect(run.stages[0]!.error).toEqual({ code: 'unsupported_architecture', message: 'The converter has no builder for FancyForCausalLM.', hint: 'Use a Qwen2 or Llama model.' });
    expect(run.stages[1]!.status).toBe('skipped');
    expect(run.error?.code).toBe('unsupported_architecture');
  });

  it('turns a crash without an error event into a failure that quotes stderr', async () => {
    harness = createHarness();
    harness.use('crashes.mjs');
    const id = await harness.runner.start(selftestPlan());
    await harness.runner.whenIdle();
    const stage = harness.history.getRun(id).stages[0]!;
    expect(stage.status).toBe('failed');
    expect(stage.exitCode).toBe(3);
    expect(stage.error?.code).toBe('exit_code');
    expect(stage.error?.hint).toContain('RuntimeError: something broke deep inside');
    const levels = harness.history.getLogs(id).filter((l) => l.source === 'stderr').map((l) => l.level);
    expect(levels).toEqual(['error', 'error']);
  });

  it('kills a stage that ignores SIGTERM within the grace period and marks it cancelled', async () => {
    harness = createHarness({ killGraceMs: 800 });
    harness.use('ignores-sigterm.mjs');
    const id = await harness.runner.start(selftestPlan());
    await waitFor(async () => harness.history.getRun(id).stages[0]!.phase === 'stubborn', 'the stage to start');
    // The stage ignores SIGTERM forever: becoming idle at all proves the SIGKILL after the grace period (a hang hits the test's limit).
    await harness.runner.cancel(id);
    await harness.runner.whenIdle();
    const run = harness.history.getRun(id);
    expect(run.status).toBe('cancelled');
    expect(run.stages[0]!.status).toBe('cancelled');
    expect(harness.history.getLogs(id).some((l) => l.text === 'Cancelled by the user.')).toBe(true);
  });

  for (const detached of [false, true]) {
    it(`kills the grandchild too${detached ? ', even when it left the process group' : ''}`, async () => {
      harness = createHarness({ killGraceMs: 500 });
      const pidFile = path.join(harness.dataDir, 'grandchild.pid');
      harness.use('grandchild.mjs', { GRANDCHILD_PID_FILE: pidFile, GRANDCHILD_DETACHED: detached ? '1' : '0' });
      const id = await harness.runner.start(selftestPlan());
      await waitFor(async () => harness.history.getRun(id).stages[0]!.phase === 'spawned', 'the grandchild to start');
      const grandchildPid = Number(readFileSync(pidFile, 'utf8'));
      expect(isAlive(grandchildPid)).toBe(true);
      await harness.runner.cancel(id);
      await harness.runner.whenIdle();
      await waitFor(async () => !isAlive(grandchildPid), 'the grandchild to die');
      expect(harness.history.getRun(id).status).toBe('cancelled');
    });
  }

  it('cancels a queued run without starting it', async () => {
    harness = createHarness({ killGraceMs: 300 });
    harness.use('ignores-sigterm.mjs');
    const first = await harness.runner.start(selftestPlan());
    const second = await harness.runner.start(selftestPlan());
    expect(harness.history.getRunSummary(second).status).toBe('queued');
    await harness.runner.cancel(second);
    expect(harness.history.getRun(second).status).toBe('cancelled');
    expect(harness.history.getRun(second).stages[0]!.status).toBe('skipped');
    await harness.runner.cancel(first);
    await harness.runner.whenIdle();
  });

  it('retries from the failed stage, reusing the finished ones and their artifacts', async () => {
    harness = createHarness();
    harness.use('ok.mjs');
    const plan = selftestPlan(2);
    const first = await harness.runner.start(plan);
    await harness.runner.whenIdle();
    // Make the second stage fail by editing history as a crash would have left it.
    const original = harness.history.getRun(first);
    harness.history.updateStage(original.stages[1]!.id, { status: 'failed', error: { code: 'x', message: 'failed' } });
    harness.history.setRunStatus(first, 'failed');
    const retry = await harness.runner.retry(first);
    await harness.runner.whenIdle();
    const run = harness.history.getRun(retry);
    expect(run.parentRunId).toBe(first);
    expect(run.status).toBe('succeeded');
    expect(run.stages[0]!.status).toBe('reused');
    expect(run.stages[0]!.reusedFromStageId).toBe(original.stages[0]!.id);
    expect(run.stages[1]!.status).toBe('succeeded');
    expect(run.artifacts.filter((a) => a.stageId === run.stages[0]!.id)).toHaveLength(1);
  });

  it('refuses an invalid plan with the path of the problem and records nothing', async () => {
    harness = createHarness();
    await expect(harness.runner.start({ stages: [{ kind: 'selftest', params: { logLines: -5 } }] } as never)).rejects.toMatchObject({
      code: 'invalid_plan',
      message: expect.stringContaining('stages.0.params.logLines'),
    });
    expect(harness.history.listRuns().total).toBe(0);
  });
});
