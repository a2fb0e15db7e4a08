/**
 * One host for every memory decision (issue 13, item 13): with
 * WORKBENCH_SIMULATE_HOST_RAM set, `workbench estimate` judges the same host
 * as serve mode's memory API (the wizard's verdicts), the preflight and the
 * guard; `--host-ram` plans for another host (a remote 128 GiB server from
 * a laptop). Built CLI and a real serve process on a generated model folder.
 */
import { execa } from 'execa';
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContextTable } from '../main/common/memoryEstimate.js';
import { api, CLI, freshDataDir, startServe } from './helpers/serve.js';
import { QWEN_TOKENIZER_DIR } from './support/fidelityModels.js';

const GiB = 1024 ** 3;
let modelDir: string;

beforeAll(() => {
  modelDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-estimate-host-')), 'qwen25');
  mkdirSync(modelDir);
  copyFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer_config.json'), path.join(modelDir, 'tokenizer_config.json'));
  writeFileSync(
    path.join(modelDir, 'config.json'),
    JSON.stringify({ architectures: ['Qwen2ForCausalLM'], hidden_size: 1536, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, intermediate_size: 8960, vocab_size: 151936, tie_word_embeddings: true, torch_dtype: 'bfloat16', max_position_embeddings: 32768 }),
  );
});

function estimate(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [CLI, '--data-dir', freshDataDir('wb-estimate-host'), 'estimate', '--model', modelDir, ...args], { reject: false, env, timeout: 60_000 });
}

describe('the host memory decisions are made against', () => {
  it('is the simulated host for estimate, as for the wizard verdicts of serve mode', async () => {
    const env = { WORKBENCH_SIMULATE_HOST_RAM: '12G' };
    const cli = await estimate(['--json'], env);
    expect(cli.exitCode, cli.stderr).toBe(0);
    const table = JSON.parse(cli.stdout) as ContextTable;
    expect(table.host.totalBytes).toBe(12 * GiB);
    expect(table.host.availableBytes).toBe(12 * GiB);

    const serve = await startServe({ env });
    try {
      const wizard = await api<ContextTable>(serve, 'memory.estimate', { modelDir, extraContexts: [4096] });
      expect(wizard.host).toEqual(table.host);
      expect(wizard.rows.map((row) => [row.kvCacheMaxLen, row.verdict.fit])).toEqual(table.rows.map((row) => [row.kvCacheMaxLen, row.verdict.fit]));
    } finally {
      await serve.stop();
    }

    const text = await estimate([], env);
    expect(text.stdout).toMatch(/^Simulated host \(WORKBENCH_SIMULATE_HOST_RAM\): 12\.0 GiB RAM, 12\.0 GiB available;/m);
  }, 90_000);

  it('can be another host named with --host-ram', async () => {
    const planned = await estimate(['--host-ram', '128G', '--json']);
    expect(planned.exitCode, planned.stderr).toBe(0);
    expect((JSON.parse(planned.stdout) as ContextTable).host.totalBytes).toBe(128 * GiB);
    const text = await estimate(['--host-ram', '128GiB'], { WORKBENCH_SIMULATE_HOST_RAM: '8G' });
    expect(text.stdout).toMatch(/^Planned host \(--host-ram\): 128 GiB RAM/m);
    const bad = await estimate(['--host-ram', 'lots']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr.trim()).toBe('error: --host-ram must be a size like 16G or 512M, not "lots".');
  }, 60_000);
});
