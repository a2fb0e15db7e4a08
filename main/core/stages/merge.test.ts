import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeQwenLikePair } from '../../../test/support/mergeSupport.js';
import { WorkbenchError } from '../../common/errors.js';
import { MergeParams } from '../../common/stages/merge.js';
import type { PreflightContext } from './definition.js';
import { mergeStage } from './merge.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'merge preflight '));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// The merge preflight only reads the parameters and the files they name.
const ctx = {} as PreflightContext;

describe('merge stage preflight', () => {
  it('predicts the peak memory from the largest updated tensor, before the run starts', async () => {
    const { baseDir, adapterDir } = await writeQwenLikePair(path.join(tmp, 'ok'));
    const findings = await mergeStage.preflight!(MergeParams.parse({ baseDir, adapterDir, outDir: path.join(tmp, 'ok', 'merged') }), ctx);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/change 14 tensors \(14 LoRA modules\) with a predicted peak of 160 MiB, whatever the model size\.$/);
    // Largest update: mlp 40 × 24 BF16 twice, plus its factors (40·4 + 4·24 float32) twice.
    expect(findings[0]!.details).toEqual({ predictedPeakBytes: 160 * 1024 * 1024 + 2 * 40 * 24 * 2 + (4 * 24 + 40 * 4) * 4 * 2, tensorsTouched: 14 });
  });

  it('refuses an adapter that does not fit before a run is created', async () => {
    const { baseDir, adapterDir } = await writeQwenLikePair(path.join(tmp, 'bad'));
    const configFile = path.join(adapterDir, 'adapter_config.json');
    await writeFile(configFile, (await readFile(configFile, 'utf8')).replace('"r":4', '"r":8'));
    const error = await mergeStage.preflight!(MergeParams.parse({ baseDir, adapterDir, outDir: path.join(tmp, 'bad', 'merged') }), ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkbenchError);
    expect((error as WorkbenchError).code).toBe('adapter_rank_mismatch');
  });
});
