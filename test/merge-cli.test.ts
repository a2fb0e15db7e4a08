/**
 * `workbench merge` end to end (the bundled CLI, a real runner child process,
 * a fresh data directory) and the merge stage's cancel path: SIGTERM in the
 * middle of a merge leaves neither the output nor a partial folder.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MergeSummary } from '../main/common/stages/merge.js';
import { bundleMerge, writeQwenLikePair, writeSafetensors } from './support/mergeSupport.js';

const run = promisify(execFile);
let tmp: string;
let bundle: Awaited<ReturnType<typeof bundleMerge>>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'merge cli '));
  bundle = await bundleMerge();
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function cli(args: string[], dataDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [bundle.cliScript, ...args], { env: { ...process.env, WORKBENCH_APP_ROOT: bundle.root, WORKBENCH_DATA_DIR: dataDir } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('workbench merge', () => {
  it('merges, prints a JSON summary and records the run', async () => {
    const root = path.join(tmp, 'json');
    const { baseDir, adapterDir } = await writeQwenLikePair(root);
    const outDir = path.join(root, 'merged');
    const dataDir = path.join(root, 'data');
    const result = await cli(['merge', '--base', baseDir, '--adapter', adapterDir, '--out', outDir, '--json'], dataDir);
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { runId: number; status: string; summary: unknown };
    expect(parsed.status).toBe('succeeded');
    const summary = MergeSummary.parse(parsed.summary);
    expect(summary.tensorsTouched).toBe(14);
    expect(summary.verify?.ok).toBe(true);
    expect(await readdir(outDir)).toContain('model.safetensors');
    const runs = await cli(['runs', 'show', String(parsed.runId), '--json'], dataDir);
    const detail = JSON.parse(runs.stdout) as { stages: { kind: string; result: unknown }[]; artifacts: { kind: string; path: string }[] };
    expect(detail.stages[0]!.kind).toBe('merge');
    expect(MergeSummary.parse(detail.stages[0]!.result).outDir).toBe(outDir);
    expect(detail.artifacts).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'merged-model', path: outDir })]));
  });

  it('prints a human summary, and exits 3 with the reason for bad input', async () => {
    const root = path.join(tmp, 'human');
    const { baseDir, adapterDir } = await writeQwenLikePair(root);
    const dataDir = path.join(root, 'data');
    const ok = await cli(['merge', '--base', baseDir, '--adapter', adapterDir, '--out', path.join(root, 'merged')], dataDir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/Merged model: .*merged/);
    expect(ok.stdout).toMatch(/scale 2 \(r=4, alpha=8\) on 14 module/);
    expect(ok.stdout).toMatch(/sha256 [0-9a-f]{64}/);
    const refused = await cli(['merge', '--base', baseDir, '--adapter', adapterDir, '--out', path.join(root, 'merged'), '--json'], dataDir);
    expect(refused.code).toBe(3);
    expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe('merge_output_exists');
    const usage = await cli(['merge', '--base', baseDir], dataDir);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('error: missing --adapter, --out');
  });
});

describe('merge stage cancel', () => {
  it('removes the partial output on SIGTERM', async () => {
    const root = path.join(tmp, 'cancel');
    const { baseDir, adapterDir } = await writeQwenLikePair(root, { layers: 1 });
    // A base big enough that the merge is still running when the signal arrives.
    const values = new Float32Array(1024 * 1024).fill(0.25);
    const big = Array.from({ length: 40 }, (_, i) => ({ name: `model.extra.${i}.weight`, shape: [1024, 1024], dtype: 'BF16' as const, values }));
    await rm(path.join(baseDir, 'model.safetensors'));
    await writeSafetensors(
      baseDir,
      [
        ...big,
        ...['q_proj', 'k_proj', 'v_proj', 'o_proj'].map((m) => ({ name: `model.layers.0.self_attn.${m}.weight`, shape: m === 'k_proj' || m === 'v_proj' ? [8, 24] : [24, 24], dtype: 'BF16' as const })),
        ...[['gate_proj', 40, 24], ['up_proj', 40, 24], ['down_proj', 24, 40]].map(([m, o, i]) => ({ name: `model.layers.0.mlp.${m}.weight`, shape: [o as number, i as number], dtype: 'BF16' as const })),
      ],
      5,
    );
    const outDir = path.join(root, 'merged');
    const paramsFile = path.join(root, 'params.json');
    await writeFile(paramsFile, JSON.stringify({ baseDir, adapterDir, outDir, shardSizeMiB: 8, verify: true, threads: 1 }));
    const child = spawn(process.execPath, [bundle.stageScript, '--params', paramsFile], { env: { ...process.env, WORKBENCH_APP_ROOT: bundle.root }, stdio: ['ignore', 'pipe', 'pipe'] });
    const events: { type: string; code?: string }[] = [];
    let signalled = false;
    for await (const line of createInterface({ input: child.stdout })) {
      const event = JSON.parse(line) as { type: string; phase?: string; code?: string };
      events.push(event);
      // The first progress event comes once the partial folder exists and before any tensor is merged.
      if (!signalled && event.type === 'progress') {
        signalled = true;
        expect((await readdir(root)).some((n) => n.startsWith('.merged.partial-'))).toBe(true);
        child.kill('SIGTERM');
      }
    }
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
    expect(signalled).toBe(true);
    expect(code).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'error', code: 'cancelled' });
    expect((await readdir(root)).sort()).toEqual(['adapter', 'base', 'params.json']);
  });
});
