import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContextTable } from '../../common/memoryEstimate.js';
import { createEngine, type Engine } from '../engine.js';
import { createDispatch, type Dispatch } from './dispatch.js';
import { createHandlers } from './handlers.js';

const FIXTURES = '/work/shared/fixtures/qwen3-tokenizer';
const QWEN25_CONFIG = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 1536,
  num_hidden_layers: 28,
  num_attention_heads: 12,
  num_key_value_heads: 2,
  intermediate_size: 8960,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  eos_token_id: 151645,
};

let dir: string;
let engine: Engine;
let dispatch: Dispatch;

async function modelFolder(name: string, config: Record<string, unknown> | null): Promise<string> {
  const folder = path.join(dir, name);
  await mkdir(folder, { recursive: true });
  await copyFile(path.join(FIXTURES, 'tokenizer_config.json'), path.join(folder, 'tokenizer_config.json'));
  if (config) await writeFile(path.join(folder, 'config.json'), JSON.stringify(config));
  return folder;
}

async function call<T>(method: string, input: unknown): Promise<T> {
  const envelope = await dispatch(method, input);
  if (!envelope.ok) throw Object.assign(new Error(envelope.error.message), { code: envelope.error.code });
  return envelope.value as T;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-memapi-'));
  engine = createEngine({ mode: 'serve', dataDir: path.join(dir, 'data') });
  dispatch = createDispatch(createHandlers(engine));
});

afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('memory API', () => {
  it('memory.estimate gives a per-context table against this host', async () => {
    const modelDir = await modelFolder('qwen25', QWEN25_CONFIG);
    const table = await call<ContextTable>('memory.estimate', { modelDir, extraContexts: [6000] });
    expect(table.model?.family).toBe('qwen2');
    expect(table.rows.map((r) => r.kvCacheMaxLen)).toEqual([512, 1024, 2048, 4096, 6000, 8192, 16384, 32768]);
    expect(table.host.totalBytes).toBeGreaterThan(0);
    expect(table.host.budgetBytes).toBeLessThanOrEqual(table.host.availableBytes);
    const peak = (kv: number): number => {
      const row = table.rows.find((r) => r.kvCacheMaxLen === kv)!;
      if (!row.estimate.ok) throw new Error(row.estimate.reason);
      return row.estimate.peakBytes.expected;
    };
    expect(peak(32768)).toBeGreaterThan(peak(4096));
    // 512 drops the 1024 prefill, as the wizard does.
    expect(table.rows[0]!.prefillSeqLens).toEqual([8, 64, 128, 256, 512]);
    // Every verdict is consistent with the budget.
    for (const row of table.rows) {
      if (!row.estimate.ok) continue;
      expect(row.verdict.fit === 'blocked').toBe(row.estimate.peakBytes.expected > table.host.budgetBytes);
    }
    expect(JSON.stringify(table)).not.toContain('NaN');
  });

  it('says why there is no estimate for an unknown architecture or a missing config', async () => {
    const moe = await modelFolder('moe', { ...QWEN25_CONFIG, architectures: ['Qwen3MoeForCausalLM'], model_type: 'qwen3_moe' });
    const table = await call<ContextTable>('memory.estimate', { modelDir: moe });
    expect(table.noEstimate?.code).toBe('unknown_architecture');
    expect(table.rows.every((r) => r.verdict.fit === 'unknown')).toBe(true);
    expect(table.largestSafe).toBeNull();
    const bare = await modelFolder('bare', null);
    expect((await call<ContextTable>('memory.estimate', { modelDir: bare })).noEstimate?.code).toBe('missing_config');
  });

  it('rejects a folder that does not exist with a clear error', async () => {
    await expect(call('memory.estimate', { modelDir: path.join(dir, 'nope') })).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(call('memory.estimate', { modelDir: '' })).rejects.toMatchObject({ code: expect.stringMatching(/invalid/) });
  });

  it('reports live host RAM and an empty calibration that can be reset', async () => {
    const host = await call<{ totalBytes: number; availableBytes: number; usedBytes: number }>('memory.host', {});
    expect(host.totalBytes).toBeGreaterThan(host.availableBytes);
    expect(host.usedBytes).toBe(host.totalBytes - host.availableBytes);
    const calibration = await call<{ fit: { runs: number; scales: { weights: number } } }>('memory.calibration.get', {});
    expect(calibration.fit.runs).toBe(0);
    expect(calibration.fit.scales.weights).toBe(1);
    expect((await call<{ fit: { runs: number } }>('memory.calibration.reset', {})).fit.runs).toBe(0);
  });
});
