/**
 * `workbench estimate` through the built CLI as a real process, with a fresh
 * data folder and a generated model folder: the table, JSON, and clear errors
 * with the documented exit codes for bad input.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextTable } from '../main/common/memoryEstimate.js';
import { CLI } from './helpers/serve.js';

let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'estimate-cli-'));
  modelDir = path.join(dir, 'qwen25');
  await mkdir(modelDir);
  await copyFile('/work/shared/fixtures/qwen3-tokenizer/tokenizer_config.json', path.join(modelDir, 'tokenizer_config.json'));
  await writeFile(
    path.join(modelDir, 'config.json'),
    JSON.stringify({ architectures: ['Qwen2ForCausalLM'], hidden_size: 1536, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, intermediate_size: 8960, vocab_size: 151936, tie_word_embeddings: true, torch_dtype: 'bfloat16' }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(...args: string[]) {
  return execa(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), 'estimate', ...args], { reject: false });
}

describe('workbench estimate', () => {
  it('prints the per-context table with the chosen context marked', async () => {
    const result = await cli('--model', modelDir, '--kv', '4096');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('qwen2, 1.54B parameters');
    expect(result.stdout).toMatch(/▶ 4096\s+33\.\d GB/);
    for (const kv of [512, 1024, 2048, 8192, 16384, 32768]) expect(result.stdout).toMatch(new RegExp(`\\s${kv}\\s`));
    expect(result.stdout).toMatch(/Context 4096: Predicted peak 33\.\d GB/);
  });

  it('prints JSON that matches the API schema, with a custom context and options', async () => {
    const result = await cli('--model', modelDir, '--kv', '6000', '--quant', 'fp16', '--prefill', '128,512', '--route', 'export_hf', '--lightweight', '--json');
    expect(result.exitCode).toBe(0);
    const parsed = JSON.parse(result.stdout) as { chosen: { kvCacheMaxLen: number } };
    const table = ContextTable.parse(parsed);
    expect(parsed.chosen.kvCacheMaxLen).toBe(6000);
    expect(table.rows.map((r) => r.kvCacheMaxLen)).toContain(6000);
    expect(table.rows.find((r) => r.kvCacheMaxLen === 1024)!.prefillSeqLens).toEqual([128, 512]);
  });

  it('refuses bad input with a sentence and the documented exit codes', async () => {
    const missing = await cli('--model', path.join(dir, 'nope'));
    expect(missing.exitCode).toBe(3);
    expect(missing.stderr).toMatch(/does not exist/);
    const quant = await cli('--model', modelDir, '--quant', 'int3');
    expect(quant.exitCode).toBe(2);
    expect(quant.stderr).toMatch(/--quant must be one of/);
    const kv = await cli('--model', modelDir, '--kv', 'lots');
    expect(kv.exitCode).toBe(2);
    expect(kv.stderr).toMatch(/--kv expects a whole number/);
    const noModel = await cli();
    expect(noModel.exitCode).toBe(2);
  });
});
