import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkbenchError } from '../../common/errors.js';
import { ConvertParams } from '../../common/stages/convert.js';
import { conversionMemoryPreflight } from './preflight.js';

const GB = 1e9;
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-preflight-'));
  modelDir = path.join(dir, 'qwen25');
  await mkdir(modelDir);
  await copyFile('/work/shared/fixtures/qwen3-tokenizer/tokenizer_config.json', path.join(modelDir, 'tokenizer_config.json'));
  await writeFile(
    path.join(modelDir, 'config.json'),
    JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 1536, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, intermediate_size: 8960, vocab_size: 151936, tie_word_embeddings: true, torch_dtype: 'bfloat16' }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const host = (gb: number) => ({ total: gb * GB, available: gb * GB * 0.95, swapTotal: 0, swapUsed: 0 });

describe('conversionMemoryPreflight', () => {
  it('records the prediction when it fits', async () => {
    const params = ConvertParams.parse({ modelDir, outDir: '/o', kvCacheMaxLen: 4096 });
    const [finding] = await conversionMemoryPreflight(params, { allowPredictedOom: false, stopUsedFraction: 0.9, host: host(128) });
    expect(finding!.level).toBe('info');
    expect(finding!.message).toMatch(/Predicted peak RAM 30\.\d GiB/);
    expect(finding!.details).toHaveProperty('memoryEstimate');
  });

  it('refuses a context that does not fit, naming the largest that does', async () => {
    const params = ConvertParams.parse({ modelDir, outDir: '/o', kvCacheMaxLen: 32768 });
    const refused = await conversionMemoryPreflight(params, { allowPredictedOom: false, stopUsedFraction: 0.9, host: host(128) }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkbenchError);
    const error = refused as WorkbenchError;
    expect(error.code).toBe('predicted_oom');
    expect(error.message).toMatch(/context of 32768 is predicted to need 121 GiB .* the largest context predicted to fit is 16384/);
    // Where the override lives differs (Settings or the wizard in the UI, a flag in the CLI), so the core names none.
    expect(error.message).toMatch(/\(the expert override allows it anyway\)\.$/);
    expect(error.message).not.toMatch(/Settings|--allow-predicted-oom/);
    expect((error.details as { suggestions: { kind: string }[] }).suggestions.map((s) => s.kind)).toContain('mask_as_input');
  });

  it('lets the expert override through and records it', async () => {
    const params = ConvertParams.parse({ modelDir, outDir: '/o', kvCacheMaxLen: 4096 });
    const [finding] = await conversionMemoryPreflight(params, { allowPredictedOom: true, stopUsedFraction: 0.9, host: host(16) });
    expect(finding!.level).toBe('warn');
    expect(finding!.details).toMatchObject({ override: true, largestSafeContext: null });
  });

  it('does not block when no estimate is possible', async () => {
    const params = ConvertParams.parse({ modelDir: path.join(dir, 'not-yet-merged'), outDir: '/o' });
    const [finding] = await conversionMemoryPreflight(params, { allowPredictedOom: false, stopUsedFraction: 0.9, host: host(16) });
    expect(finding!.level).toBe('info');
    expect(finding!.message).toMatch(/No memory estimate/);
  });
});
