/**
 * The memory block end to end through the built CLI: a Qwen2.5-1.5B
 * conversion at 32k on a (simulated) 16 GiB host is refused before anything
 * starts, with the predicted peak and the largest safe context; the expert
 * override starts it anyway and is recorded with the run.
 */
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, freshDataDir } from './helpers/serve.js';
import { makeModel, qwenConfig } from './support/hfModel.js';

describe('memory preflight through workbench run', () => {
  it('refuses a context predicted to run out of memory, and records the override when forced', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-preflight-'));
    const modelDir = await makeModel(path.join(work, 'qwen2.5-1.5b'), qwenConfig(1536, 28, 8960, 12, 2, 151936, true), null);
    const plan = path.join(work, 'plan.json');
    writeFileSync(plan, JSON.stringify({ stages: [{ kind: 'convert', params: { modelDir, outDir: path.join(work, 'out'), route: 'example', kvCacheMaxLen: 32768 } }] }));
    const dataDir = freshDataDir('wb-preflight-data');
    const env = { WORKBENCH_SIMULATE_HOST_RAM: '16G' };

    const refused = await execa(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--plan', plan], { reject: false, env });
    expect(refused.exitCode).toBe(5);
    expect(refused.stderr).toMatch(/context of 32768 is predicted to need \d+(\.\d+)? GiB/);
    expect(refused.stderr).toMatch(/largest context predicted to fit|no context length is predicted to fit/);
    // The CLI names its own override, not the app's Settings page.
    expect(refused.stderr).toMatch(/^hint: Add --allow-predicted-oom to start it anyway/m);
    expect(refused.stderr).not.toMatch(/Settings/);
    const none = await execa(process.execPath, [CLI, '--data-dir', dataDir, 'runs', 'list', '--json'], { env });
    expect(JSON.parse(none.stdout).total).toBe(0);

    const forced = await execa(process.execPath, [CLI, '--data-dir', dataDir, 'run', '--plan', plan, '--allow-predicted-oom', '--json'], { reject: false, env });
    const run = JSON.parse(forced.stdout) as { status: string; overrides: { allowPredictedOom?: unknown; preflight?: { override?: boolean }[] } };
    // No converter is installed here, so the stage itself fails fast; what matters is that it started and the override is on record.
    expect(run.status).toBe('failed');
    expect(run.overrides.allowPredictedOom).toEqual({ source: 'plan' });
    expect(run.overrides.preflight?.some((entry) => entry.override === true)).toBe(true);
  }, 60_000);
});
