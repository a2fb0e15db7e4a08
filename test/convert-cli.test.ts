/**
 * `workbench convert` (native route) end to end through the built CLI: a real
 * runner child process, a fresh data directory, tiny real checkpoints. The
 * .tflite it writes is read back by `inspect` (signatures, KV inputs,
 * quantization) and packaged unchanged by `workbench package`. Bad input gets
 * one sentence and exit 3 (or 2 for usage) with nothing written.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { distPath, nodeStageScript } from '../main/core/paths.js';
import { writeTinyDecoder } from './support/tinyDecoder.js';
import { SHARED_FIXTURES } from './support/hfModel.js';

const run = promisify(execFile);
const CLI = distPath('main', 'cli.js');
let dir: string;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), ...args], { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  for (const file of [CLI, nodeStageScript('convertNative'), nodeStageScript('package')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first.`);
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'convert-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('workbench convert', () => {
  test('--json prints exactly one JSON object; inspect reads the output and package bundles it unchanged', async () => {
    const model = await writeTinyDecoder(path.join(dir, 'qwen2'), { family: 'qwen2', vocab: 300 });
    const out = path.join(dir, 'out', 'tiny.tflite');
    const result = await cli(['convert', '--model', model, '--out', out, '--kv', '128', '--prefill', '8,32', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(parsed).toMatchObject({ status: 'succeeded', tflite: out, signatures: ['prefill_8', 'prefill_32', 'decode'], quantize: 'dynamic_int8', route: 'native' });
    const bytes = await readFile(out);
    expect(parsed.bytes).toBe(bytes.byteLength);
    const { createHash } = await import('node:crypto');
    expect(parsed.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(typeof parsed.seconds).toBe('number');
    expect(await readdir(path.dirname(out))).toEqual(['tiny.tflite', 'tiny.tflite.convert.json']);

    const inspected = await cli(['inspect', out, '--json']);
    expect(inspected.code, inspected.stderr).toBe(0);
    const summary = JSON.parse(inspected.stdout) as { summary?: { derived: Record<string, unknown>; signatures: { key: string }[] }; derived?: Record<string, unknown> };
    const derived = (summary.summary ?? (summary as unknown as { derived: Record<string, unknown> })).derived ?? summary.derived;
    expect(derived).toMatchObject({ kvCacheMaxLen: 128, kvCacheLayers: 3, prefillLengths: [8, 32], hasDecodeSignature: true, quantScheme: 'dynamic_int8' });

    // Packaging takes the output unchanged (a tokenizer from the fixtures so the bundle is complete).
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) await writeFile(path.join(model, f), await readFile(path.join(SHARED_FIXTURES, 'qwen3-tokenizer', f)));
    const bundle = path.join(dir, 'tiny.litertlm');
    const packaged = await cli(['package', '--tflite', out, '--model', model, '--out', bundle, '--json']);
    expect(packaged.code, packaged.stderr + packaged.stdout).toBe(0);
    const inspectBundle = await cli(['inspect', bundle, '--json']);
    expect(inspectBundle.stdout).toContain('prefill_32');
    // The bundle embeds the .tflite byte for byte.
    const bundleBytes = await readFile(bundle);
    expect(bundleBytes.includes(bytes.subarray(0, 4096))).toBe(true);
  }, 120_000);

  test('human output names the file, its signatures and the next step; runs show records the artifact', async () => {
    const model = await writeTinyDecoder(path.join(dir, 'llama'), { family: 'llama' });
    const result = await cli(['convert', '--model', model, '--out-dir', path.join(dir, 'llama-out'), '--kv', '64', '--quant', 'none', '--kv-layout', 'transposed']);
    expect(result.code, result.stderr).toBe(0);
    const file = path.join(dir, 'llama-out', 'llama_f32_ekv64.tflite');
    expect(result.stdout).toContain(`Converted: ${file}`);
    expect(result.stdout).toContain('signatures: prefill_8, prefill_64, decode');
    expect(result.stdout).toMatch(/size: \d+(\.\d)? KiB/);
    expect(result.stdout).toContain('Next: workbench package --tflite');
    const runs = await cli(['runs', 'list', '--json']);
    const list = JSON.parse(runs.stdout) as { id: number; status: string }[] | { runs: { id: number }[] };
    const ids = Array.isArray(list) ? list.map((r) => r.id) : list.runs.map((r) => r.id);
    const show = await cli(['runs', 'show', String(Math.max(...ids)), '--json']);
    const detail = JSON.parse(show.stdout) as { artifacts: { kind: string; path: string }[] };
    expect(detail.artifacts).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'tflite', path: file })]));
  }, 120_000);

  test.each([
    ['sliding window', { use_sliding_window: true }, /config\.json use_sliding_window is true \(sliding-window attention\): the native converter does not build this; use the export_hf route/],
    ['mixture of experts', { num_experts: 8 }, /config\.json num_experts is 8 \(mixture of experts\)/],
    ['another rope scaling', { rope_scaling: { type: 'yarn', factor: 4 } }, /config\.json rope_scaling has type "yarn" \(only llama3 scaling is built natively\)/],
    ['another architecture', { architectures: ['MistralForCausalLM'] }, /config\.json architectures MistralForCausalLM has no native graph builder \(supported: Qwen2ForCausalLM, Qwen3ForCausalLM, LlamaForCausalLM\)/],
    ['another activation', { hidden_act: 'gelu' }, /config\.json hidden_act is "gelu"/],
  ])('refuses %s before writing anything, in one sentence (exit 3)', async (label, config, message) => {
    const model = await writeTinyDecoder(path.join(dir, `refuse-${label.replaceAll(' ', '-')}`), { family: 'qwen2', layers: 1, config });
    const out = path.join(dir, `refuse-${label.replaceAll(' ', '-')}-out`, 'x.tflite');
    const result = await cli(['convert', '--model', model, '--out', out, '--kv', '64']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(path.dirname(out))).toBe(false);
  }, 60_000);

  test('blockwise int4: block 32 converts (inspect says dynamic_int4); block 128 on 64-wide rows is refused naming the tensor, nothing written', async () => {
    // A vocabulary wide enough that the int4 weights dominate the file, as in any real model.
    const model = await writeTinyDecoder(path.join(dir, 'int4'), { family: 'qwen2', layers: 1, vocab: 4096 });
    const out = path.join(dir, 'int4-out', 'q4.tflite');
    const ok = await cli(['convert', '--model', model, '--out', out, '--kv', '64', '--prefill', '8', '--quant', 'dynamic_int4_block32', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const inspected = await cli(['inspect', out, '--json']);
    expect(inspected.stdout).toContain('"quantScheme": "dynamic_int4"');

    const refusedDir = path.join(dir, 'int4-refused');
    const refused = await cli(['convert', '--model', model, '--out', path.join(refusedDir, 'q4.tflite'), '--kv', '64', '--quant', 'dynamic_int4_block128']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/model\.embed_tokens\.weight has 64 input columns, not a multiple of the int4 block size 128, so it cannot be quantized blockwise/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    // Refused by the stage's preflight, before the run starts: not even the folder is made.
    expect(existsSync(refusedDir)).toBe(false);
  }, 120_000);

  test('a NaN weight fails the run naming the tensor, and leaves no partial file', async () => {
    const values = new Float32Array(96 * 64).fill(0.01);
    values[5 * 64 + 3] = Number.NaN;
    const model = await writeTinyDecoder(path.join(dir, 'nan'), { family: 'qwen2', layers: 1, values: { 'model.layers.0.mlp.up_proj.weight': values } });
    const outDir = path.join(dir, 'nan-out');
    const result = await cli(['convert', '--model', model, '--out', path.join(outDir, 'x.tflite'), '--kv', '64', '--json']);
    expect(result.code).toBe(3);
    const parsed = JSON.parse(result.stdout) as { status: string; error: { code: string; message: string } };
    expect(parsed.status).toBe('failed');
    expect(parsed.error.code).toBe('bad_weights');
    expect(parsed.error.message).toContain('model.layers.0.mlp.up_proj.weight holds NaN (row 5, column 3)');
    expect(await readdir(outDir)).toEqual([]);
  }, 60_000);

  test('usage errors: one sentence naming the flag, exit 2', async () => {
    const model = await writeTinyDecoder(path.join(dir, 'usage'), { family: 'qwen3', layers: 1 });
    const cases: [string[], RegExp][] = [
      [['--out', path.join(dir, 'u', 'x.bin')], /does not end in \.tflite/],
      [['--out', path.join(dir, 'u', 'x.tflite'), '--quant', 'int3'], /--quant must be one of/],
      [['--out', path.join(dir, 'u', 'x.tflite'), '--kv', 'lots'], /--kv expects a whole number, got "lots"/],
      [['--out', path.join(dir, 'u', 'x.tflite'), '--kv', '64', '--prefill', '8,128'], /The longest prefill length \(128\) exceeds the context length \(64\)/],
      [['--out', path.join(dir, 'u', 'x.tflite'), '--kv-layout', 'nhwc'], /--kv-layout must be btnh or transposed/],
      [['--out', path.join(dir, 'u', 'x.tflite'), '--route', 'example'], /give --out-dir DIR instead of --out/],
    ];
    for (const [args, message] of cases) {
      const result = await cli(['convert', '--model', model, ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const missing = await cli(['convert', '--model', path.join(dir, 'no-such-model'), '--out', path.join(dir, 'u', 'x.tflite')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/no config\.json|does not exist|not found/i);
  }, 60_000);

  test('Ctrl-C (SIGINT) cancels: the run is recorded as cancelled and no partial file is left', async () => {
    // Big enough to take a few seconds: a wide vocabulary and many layers.
    const model = await writeTinyDecoder(path.join(dir, 'cancel'), { family: 'llama', layers: 24, hidden: 256, intermediate: 1024, heads: 8, kvHeads: 2, vocab: 32000, dtype: 'F32' });
    const outDir = path.join(dir, 'cancel-out');
    const child = spawn(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), 'convert', '--model', model, '--out', path.join(outDir, 'x.tflite'), '--kv', '2048', '--quant', 'none']);
    let stderr = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/convert: \d+ %/.test(stderr)) resolve();
      });
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(130);
    const left = existsSync(outDir) ? await readdir(outDir) : [];
    expect(left).toEqual([]);
  }, 120_000);
});
