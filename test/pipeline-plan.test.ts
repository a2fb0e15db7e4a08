/**
 * A whole pipeline in one plan, as the wizard starts it: each stage's input
 * is written by the stage before it, so none of it exists when the run is
 * checked. Through the built CLI with real child processes: merge → package →
 * verify runs to the end (the package stage creates its output folder); the
 * wizard's full plan with a conversion in the middle is accepted and stops at
 * the conversion, which cannot run here (no converter installed).
 */
import { execa } from 'execa';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, freshDataDir } from './helpers/serve.js';
import { writeQwenModelFolder } from './support/fidelityModels.js';
import { writeQwenLikePair } from './support/mergeSupport.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';

interface RunJson {
  status: string;
  stages: { kind: string; status: string; error?: { code: string; message: string } | null }[];
}

async function baseAndAdapter(root: string): Promise<{ baseDir: string; adapterDir: string }> {
  const pair = await writeQwenLikePair(root);
  // The Qwen tokenizer, chat template and generation config, so the merged folder can be packaged and checked.
  writeQwenModelFolder(pair.baseDir);
  return pair;
}

let lastDataDir = '';

async function runPlan(plan: object, work: string, env: Record<string, string> = {}) {
  const file = path.join(work, 'plan.json');
  writeFileSync(file, JSON.stringify(plan));
  lastDataDir = freshDataDir('wb-pipeline-data');
  const result = await execa(process.execPath, [CLI, '--data-dir', lastDataDir, 'run', '--plan', file, '--json'], { reject: false, env });
  return { ...result, run: result.stdout ? (JSON.parse(result.stdout) as RunJson) : null };
}

describe('a pipeline plan whose inputs come from earlier stages', () => {
  it('merges, packages into a folder that does not exist yet, and verifies the bundle', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-pipeline-'));
    const { baseDir, adapterDir } = await baseAndAdapter(work);
    const tflitePath = path.join(work, 'model_q8_ekv4096.tflite');
    await writeSyntheticTflite(tflitePath, { kvCacheMaxLen: 4096 });
    const out = path.join(work, 'base-workbench');
    const merged = path.join(out, 'merged');
    const bundle = path.join(out, 'bundle', 'model.litertlm');

    const { exitCode, stderr, run } = await runPlan(
      {
        stages: [
          { kind: 'merge', params: { baseDir, adapterDir, outDir: merged } },
          { kind: 'package', params: { tflitePath, modelDir: merged, outPath: bundle } },
          { kind: 'verify', params: { modelDir: merged, bundlePath: bundle, intendedContext: 4096 } },
        ],
      },
      work,
    );
    expect(exitCode, stderr).toBe(0);
    expect(run?.status).toBe('succeeded');
    expect(run?.stages.map((s) => `${s.kind}:${s.status}`)).toEqual(['merge:succeeded', 'package:succeeded', 'verify:succeeded']);
    expect(existsSync(bundle)).toBe(true);
  }, 120_000);

  it("accepts the wizard's merge → convert → package → verify plan and stops at the conversion", async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-pipeline-'));
    const { baseDir, adapterDir } = await baseAndAdapter(work);
    const out = path.join(work, 'base-workbench');
    const merged = path.join(out, 'merged');
    const tflite = path.join(out, 'tflite', 'qwen2_5_1_5b_q8_ekv4096.tflite');
    const bundle = path.join(out, 'qwen2_5_1_5b_q8_ekv4096.litertlm');

    const { exitCode, stderr, run } = await runPlan(
      {
        stages: [
          { kind: 'merge', params: { baseDir, adapterDir, outDir: merged } },
          { kind: 'convert', params: { modelDir: merged, outDir: path.join(out, 'tflite'), route: 'example', kvCacheMaxLen: 4096 } },
          { kind: 'package', params: { tflitePath: tflite, modelDir: merged, outPath: bundle } },
          { kind: 'verify', params: { modelDir: merged, bundlePath: bundle } },
        ],
      },
      work,
      // A host the size of the field report's, so the memory block does not refuse the 1.5B conversion.
      { WORKBENCH_SIMULATE_HOST_RAM: '128G' },
    );
    expect(stderr).not.toMatch(/does not exist/);
    expect(exitCode).toBe(1);
    expect(run?.stages.map((s) => `${s.kind}:${s.status}`)).toEqual(['merge:succeeded', 'convert:failed', 'package:skipped', 'verify:skipped']);
  }, 120_000);

  it('refuses edited metadata that does not fit the merged tokenizer or the planned context, before anything starts', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-pipeline-'));
    const { baseDir, adapterDir } = await baseAndAdapter(work);
    const out = path.join(work, 'base-workbench');
    const merged = path.join(out, 'merged');
    const { exitCode, stderr, run } = await runPlan(
      {
        stages: [
          { kind: 'merge', params: { baseDir, adapterDir, outDir: merged } },
          { kind: 'convert', params: { modelDir: merged, outDir: path.join(out, 'tflite'), route: 'example', kvCacheMaxLen: 4096 } },
          { kind: 'package', params: { tflitePath: path.join(out, 'tflite', 'm.tflite'), modelDir: merged, outPath: path.join(out, 'm.litertlm'), metadataOverrides: { stopTokens: [{ tokenIds: { ids: [999_999_999] } }], maxNumTokens: 99_999_999 } } },
        ],
      },
      work,
      { WORKBENCH_SIMULATE_HOST_RAM: '128G' },
    );
    expect(exitCode).toBe(3);
    expect(stderr).toMatch(/The edited metadata cannot be packaged: Stop token 1: id 999999999 is past the end of the vocabulary \(151,669 tokens/);
    expect(stderr).toContain("max_num_tokens 99,999,999 is more than the .tflite's KV cache holds (4,096 tokens).");
    // No run was created: --json prints the one JSON error document instead.
    expect(run).toMatchObject({ error: { code: expect.any(String) } });
    expect(run).not.toHaveProperty('id');
    expect(existsSync(merged)).toBe(false);
  }, 60_000);

  it("warns, in the run's log, of a context longer than the model was trained for", async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-pipeline-'));
    const modelDir = writeQwenModelFolder(path.join(work, 'qwen'));
    const { run } = await runPlan({ stages: [{ kind: 'convert', params: { modelDir, outDir: path.join(work, 'out'), route: 'example', kvCacheMaxLen: 65536 } }] }, work, {
      WORKBENCH_SIMULATE_HOST_RAM: '4096G',
    });
    expect(run?.stages[0]?.status).toBe('failed');
    const logs = await execa(process.execPath, [CLI, '--data-dir', lastDataDir, 'runs', 'logs', String((run as unknown as { id: number }).id), '--level', 'warn']);
    expect(logs.stdout).toContain("A context of 65536 exceeds the model's max_position_embeddings of 32768");
  }, 60_000);

  it('still refuses, before anything starts, an input that no stage of the run writes', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-pipeline-'));
    const { baseDir, adapterDir } = await baseAndAdapter(work);
    const merged = path.join(work, 'merged');
    const { exitCode, stderr, run } = await runPlan(
      {
        stages: [
          { kind: 'merge', params: { baseDir, adapterDir, outDir: merged } },
          { kind: 'package', params: { tflitePath: path.join(work, 'elsewhere', 'missing.tflite'), modelDir: merged, outPath: path.join(work, 'x.litertlm') } },
          { kind: 'verify', params: { modelDir: merged, bundlePath: path.join(work, 'typo.litertlm') } },
        ],
      },
      work,
    );
    expect(exitCode).toBe(3);
    // The first stage that reads a file nobody writes refuses: the package stage's .tflite (a merge writing the
    // model folder does not make the .tflite one an earlier stage writes).
    expect(stderr).toContain(`${path.join(work, 'elsewhere', 'missing.tflite')} does not exist.`);
    // No run was created: --json prints the one JSON error document instead.
    expect(run).toMatchObject({ error: { code: expect.any(String) } });
    expect(run).not.toHaveProperty('id');
  }, 60_000);
});
