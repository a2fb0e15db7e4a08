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
    JSON.stringify({ architectures: ['Qwen2ForCausalLM'], hidden_size: 1536, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, intermediate_size: 8960, vocab_size: 151936, tie_word_embeddings: true, torch_dtype: 'bfloat16', max_position_embeddings: 32768 }),
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
    const result = await cli('--model', modelDir, '--kv', '4096', '--route', 'example');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('qwen2, 1.54B parameters');
    expect(result.stdout).toMatch(/▶ 4096\s+30\.\d GiB/);
    for (const kv of [512, 1024, 2048, 8192, 16384, 32768]) expect(result.stdout).toMatch(new RegExp(`\\s${kv}\\s`));
    expect(result.stdout).toMatch(/Context 4096: Predicted peak 30\.\d GiB/);
  });

  it('prints JSON that matches the API schema, with a custom context and options', async () => {
    const result = await cli('--model', modelDir, '--kv', '6000', '--quant', 'dynamic_int4_block32', '--prefill', '128,512', '--route', 'export_hf', '--lightweight', '--json');
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

  it('refuses the settings a run refuses, with the same sentence (exit 2)', async () => {
    const prefill = await cli('--model', modelDir, '--prefill', '2048', '--kv', '1024');
    expect(prefill.exitCode).toBe(2);
    expect(prefill.stdout).toBe('');
    expect(prefill.stderr).toContain('The longest prefill length (2048) exceeds the context length (1024).');
    const fp16 = await cli('--model', modelDir, '--route', 'export_hf', '--quant', 'fp16');
    expect(fp16.exitCode).toBe(2);
    expect(fp16.stderr).toContain('The export_hf route has no quantization recipe matching fp16.');
    const json = await cli('--model', modelDir, '--route', 'export_hf', '--quant', 'dynamic_int4_block128', '--json');
    expect(json.exitCode).toBe(2);
    // --json on failure: one JSON error document (docs/cli.md).
    expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'usage', message: expect.stringContaining('dynamic_int4_block128') } });
    const lightweight = await cli('--model', modelDir, '--lightweight');
    expect(lightweight.exitCode).toBe(2);
    expect(lightweight.stderr).toContain('Lightweight conversion exists only on the export_hf route.');
  });

  it('warns when the context exceeds max_position_embeddings, and still estimates it', async () => {
    const result = await cli('--model', modelDir, '--kv', '65536');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/▶ 65536\s/);
    expect(result.stdout).toMatch(/^Warning: A context of 65536 exceeds the model's max_position_embeddings of 32768: it was not trained for that many positions.*the converter will still build it/m);
    const json = await cli('--model', modelDir, '--kv', '65536', '--json');
    expect((JSON.parse(json.stdout) as { chosen: { warnings: string[] } }).chosen.warnings).toEqual([expect.stringContaining('max_position_embeddings of 32768')]);
    const within = await cli('--model', modelDir, '--kv', '32768');
    expect(within.stdout).not.toMatch(/^Warning:/m);
  });

  it('treats a folder without config.json as bad input, empty or not (exit 3)', async () => {
    const tokenizerOnly = path.join(dir, 'tokenizer-only');
    await mkdir(tokenizerOnly);
    await copyFile(path.join(modelDir, 'tokenizer_config.json'), path.join(tokenizerOnly, 'tokenizer_config.json'));
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    for (const folder of [tokenizerOnly, empty]) {
      for (const json of [[], ['--json']]) {
        const result = await cli('--model', folder, ...json);
        expect(result.exitCode, `${folder} ${json.join(' ')}`).toBe(3);
        if (json.length === 0) expect(result.stdout).toBe('');
        else expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'missing_config' } });
        expect(result.stderr).toMatch(new RegExp(`^error: ${folder}/? has no config\\.json, which the estimate needs for the model's architecture and sizes\\.$`, 'm'));
      }
    }
  });
});

describe('workbench estimate takes the route convert takes', () => {
  async function modelFolder(name: string, config: Record<string, unknown>): Promise<string> {
    const folder = path.join(dir, name);
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, 'config.json'), JSON.stringify(config));
    return folder;
  }
  function convert(folder: string) {
    return execa(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), 'convert', '--model', folder, '--out', path.join(dir, `${path.basename(folder)}.tflite`)], { reject: false });
  }

  it('defaults to the native route for a model the native converter builds', async () => {
    const result = await cli('--model', modelDir, '--kv', '4096');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('qwen2, 1.54B parameters) — native, dynamic_int8');
    // The native converter streams: hundreds of MiB at any context, where the example route needs ~30 GiB.
    expect(result.stdout).toMatch(/▶ 4096\s+\d+ MiB/);
    expect(result.stdout).not.toContain('BLOCKED  ');
    const json = JSON.parse((await cli('--model', modelDir, '--json')).stdout) as { route: string; routeNote: string | null };
    expect(json).toMatchObject({ route: 'native', routeNote: null });
  });

  it("caps the largest safe context at max_position_embeddings and says why", async () => {
    const short = await modelFolder('qwen-4k', { architectures: ['Qwen2ForCausalLM'], hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936, max_position_embeddings: 4096 });
    const result = await cli('--model', short, '--host-ram', '512G', '--device-ram', '512G');
    expect(result.exitCode).toBe(0);
    // 32768 fits a 512 GiB host natively, but the model was trained for 4096 positions.
    expect(result.stdout).toMatch(/^\s+32768\s+\d+ MiB .* fits /m);
    expect(result.stdout).toMatch(/^Largest safe context: 4096\.$/m);
    expect(result.stdout).toContain("Capped at 4,096, the model's max_position_embeddings: longer contexts fit this host, but the model was not trained for that many positions.");
    const json = JSON.parse((await cli('--model', short, '--host-ram', '512G', '--json')).stdout) as { largestSafe: number; contextCap: { maxPositionEmbeddings: number } };
    expect(json.largestSafe).toBe(4096);
    expect(json.contextCap.maxPositionEmbeddings).toBe(4096);
  });

  it('refuses --route native for what convert refuses, with convert\'s sentence, and defaults such models to the example route', async () => {
    const gemma = await modelFolder('gemma2', { architectures: ['Gemma2ForCausalLM'], hidden_size: 2304, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, intermediate_size: 9216, vocab_size: 256000, max_position_embeddings: 8192 });
    const sliding = await modelFolder('qwen-sliding', { architectures: ['Qwen2ForCausalLM'], hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936, use_sliding_window: true, max_position_embeddings: 32768 });
    for (const folder of [gemma, sliding]) {
      const estimate = await cli('--model', folder, '--route', 'native');
      const converted = await convert(folder);
      expect(converted.exitCode).toBe(3);
      const sentence = converted.stderr.split('\n').find((line) => line.startsWith('error: '))!;
      expect(sentence).toMatch(/native/);
      expect(estimate.exitCode, folder).toBe(3);
      expect(estimate.stdout).toBe('');
      expect(estimate.stderr.split('\n')).toContain(sentence);
      const fallback = await cli('--model', folder);
      expect(fallback.exitCode).toBe(0);
      expect(fallback.stdout).toContain(' — example, dynamic_int8');
      expect(fallback.stdout).toContain(`Estimated for the example route (Python), because the native route does not build this model: ${sentence.slice('error: '.length)}`);
    }
  });
});

describe('workbench estimate, native route and the device column', () => {
  it('shows the model on the device per context and blocks what a phone cannot hold', async () => {
    const phone = await cli('--model', modelDir, '--route', 'native', '--kv', '32768');
    expect(phone.exitCode).toBe(0);
    expect(phone.stdout).toMatch(/^Device: 8\.0 GiB RAM, about 4\.8 GiB of it usable by one app/m);
    expect(phone.stdout).toMatch(/CONTEXT\s+PEAK RAM\s+RANGE\s+DURATION\s+FIT\s+PEAK PHASE\s+DEVICE/);
    // The native conversion itself hardly grows with the context; the device does.
    expect(phone.stdout).toMatch(/▶ 32768\s+\d+ MiB .* fits .* GiB BLOCKED/);
    expect(phone.stdout).toMatch(/On the device the model needs about .* more than the 4\.8 GiB an app can count on with 8\.0 GiB of RAM\./);
    expect(phone.stdout).toMatch(/^Largest context that also fits the 8\.0 GiB device: \d+\./m);
    const server = await cli('--model', modelDir, '--route', 'native', '--kv', '32768', '--device-ram', '64G', '--json');
    const table = JSON.parse(server.stdout) as { device: { ramBytes: number }; rows: { kvCacheMaxLen: number; device: { fit: string; totalBytes: number } }[] };
    expect(table.device.ramBytes).toBe(64 * 2 ** 30);
    expect(table.rows.find((r) => r.kvCacheMaxLen === 32768)?.device.fit).toBe('fits');
    const bad = await cli('--model', modelDir, '--route', 'native', '--device-ram', 'lots');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--device-ram');
  });
});
