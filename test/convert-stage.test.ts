/**
 * The conversion stage end to end with a real Python child process and a
 * test-only fake converter on PYTHONPATH (same module paths and signatures as
 * ai_edge_torch 0.7 / litert_torch 0.10; it records each call and writes a
 * small output). Proves the wizard's choices reach the converter under the
 * right names and values on both routes, that the TypeScript command line
 * equals the one the stage records, and that a missing converter or a
 * converter failure ends in one clear error event.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConvertParams, type ConvertParamsInput } from '../main/common/stages/convert.js';
import { convertCommandLine, equivalentConverterCommand } from '../main/core/stages/convert.js';
import { canImport, FAKE_CONVERTER, FAKE_TORCH, runStageProcess, TEST_PYTHON } from './support/python.js';

let dir: string;
let modelDir: string;
let pythonPath: string;

const QWEN_1_5B = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  hidden_size: 1536,
  num_hidden_layers: 28,
  intermediate_size: 8960,
  num_attention_heads: 12,
  num_key_value_heads: 2,
  torch_dtype: 'bfloat16',
  vocab_size: 151936,
};

/** A real safetensors file: u64 header length, JSON header, zero-filled data. */
function safetensors(tensors: Record<string, { dtype: string; shape: number[] }>): Buffer {
  let offset = 0;
  const header: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * (t.dtype === 'F32' ? 4 : 2);
    header[name] = { ...t, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, Buffer.from(json), Buffer.alloc(offset)]);
}

function makeModel(folder: string, config: object, tensors: Record<string, { dtype: string; shape: number[] }>): string {
  mkdirSync(folder, { recursive: true });
  writeFileSync(path.join(folder, 'config.json'), JSON.stringify(config));
  writeFileSync(path.join(folder, 'model.safetensors'), safetensors(tensors));
  return folder;
}

interface Call {
  call: string;
  kwargs: Record<string, unknown>;
}

async function runConvert(input: ConvertParamsInput, extraEnv: Record<string, string> = {}, withFake = true) {
  const params = ConvertParams.parse(input);
  const work = await mkdtemp(path.join(dir, 'run-'));
  const paramsFile = path.join(work, 'params.json');
  const record = path.join(work, 'calls.jsonl');
  await writeFile(paramsFile, JSON.stringify(params));
  const launch = convertCommandLine(params, { python: TEST_PYTHON, paramsFile });
  const env: Record<string, string> = { ...launch.env, ...extraEnv, FAKE_CONVERTER_RECORD: record, PYTHONPATH: withFake ? pythonPath : '' };
  const outcome = await runStageProcess(launch.file, launch.args, env);
  let calls: Call[] = [];
  try {
    calls = (await readFile(record, 'utf8')).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Call);
  } catch {
    calls = [];
  }
  return { params, outcome, calls };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'convert-stage-'));
  modelDir = makeModel(path.join(dir, 'qwen-ft'), QWEN_1_5B, { 'model.embed_tokens.weight': { dtype: 'BF16', shape: [8, 4] } });
  const needsFakeTorch = !(await canImport(TEST_PYTHON, 'torch'));
  pythonPath = needsFakeTorch ? [FAKE_CONVERTER, FAKE_TORCH].join(path.delimiter) : FAKE_CONVERTER;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('convert stage, example route', () => {
  it('passes the wizard choices to the Qwen 1.5B builder and convert_to_tflite', async () => {
    const out = path.join(dir, 'out-example');
    const { params, outcome, calls } = await runConvert({
      modelDir,
      outDir: out,
      route: 'example',
      kvCacheMaxLen: 4096,
      prefillSeqLens: [256, 8, 64],
      quantize: 'dynamic_int8',
      maskAsInput: true,
      transposeKvCache: true,
      outputNamePrefix: 'qwen_ft',
    });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.text).toEqual([]); // nothing but protocol lines on stdout
    const build = calls.find((c) => c.call.endsWith('build_1_5b_model'));
    expect(build?.call).toBe('examples.qwen.qwen.build_1_5b_model'); // from config.json, not the script's 3b default
    expect(build?.kwargs).toEqual({ checkpoint_path: modelDir, custom_loader: null, mask_cache_size: 0 });
    const convert = calls.find((c) => c.call === 'converter.convert_to_tflite');
    expect(convert?.kwargs).toMatchObject({
      output_path: out,
      output_name_prefix: 'qwen_ft',
      prefill_seq_len: [8, 64, 256],
      kv_cache_max_len: 4096,
      quantize: 'dynamic_int8',
      export_config: { mask_as_input: true, kvcache_layout: 'transposed', decode_batch_size: 1 },
    });
    const artifacts = outcome.events.filter((e) => e.type === 'artifact');
    expect(artifacts.map((a) => a.type === 'artifact' && path.basename(a.path))).toEqual(['qwen_ft_q8_ekv4096.tflite', 'qwen_ft_q8_ekv4096.convert.json']);
    const phases = outcome.events.flatMap((e) => (e.type === 'progress' && e.phase ? [e.phase] : []));
    expect(phases).toEqual(expect.arrayContaining(['load weights', 'build/trace', 'lower', 'quantize', 'serialize', 'done']));
    const result = outcome.events.find((e) => e.type === 'result');
    const recorded = result?.type === 'result' ? (result.data.equivalentCommand as string) : '';
    expect(recorded).toBe(await equivalentConverterCommand(params));
    expect(recorded).toContain('--model_size=1.5b');
    const sidecar = JSON.parse(await readFile(path.join(out, 'qwen_ft_q8_ekv4096.convert.json'), 'utf8')) as Record<string, any>;
    expect(sidecar.route).toBe('example');
    expect(sidecar.signatures).toEqual(['prefill_8', 'prefill_64', 'prefill_256', 'decode']);
    expect(Object.keys(sidecar.input.sha256).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('keeps the mask cache at the context length when the mask is built in', async () => {
    const { outcome, calls } = await runConvert({ modelDir, outDir: path.join(dir, 'out-mask'), kvCacheMaxLen: 1024, prefillSeqLens: [128], quantize: 'none' });
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(calls[0]?.kwargs.mask_cache_size).toBe(1024);
    expect(calls.some((c) => c.call.includes('Quantizer'))).toBe(false); // "none" never reaches the quantizer
  });

  it('turns a converter failure into one error event with a hint', async () => {
    const { outcome } = await runConvert({ modelDir, outDir: path.join(dir, 'out-oom') }, { FAKE_CONVERTER_FAIL: 'oom' });
    expect(outcome.code).toBe(1);
    const errors = outcome.events.filter((e) => e.type === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'out_of_memory' });
    expect(errors[0]?.type === 'error' && errors[0].hint).toMatch(/context length/);
  });

  it('refuses a checkpoint that still holds LoRA tensors before converting', async () => {
    const unmerged = makeModel(path.join(dir, 'unmerged'), QWEN_1_5B, {
      'model.embed_tokens.weight': { dtype: 'BF16', shape: [8, 4] },
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight': { dtype: 'F32', shape: [2, 4] },
    });
    const { outcome, calls } = await runConvert({ modelDir: unmerged, outDir: path.join(dir, 'out-lora') });
    expect(outcome.events.find((e) => e.type === 'error')).toMatchObject({ code: 'unmerged_lora' });
    expect(calls).toEqual([]);
  });
});

describe('convert stage, export_hf route', () => {
  it('passes cache length, prefill lengths, recipe and lightweight conversion to export()', async () => {
    const out = path.join(dir, 'out-hf');
    const { params, outcome, calls } = await runConvert({
      modelDir,
      outDir: out,
      route: 'export_hf',
      kvCacheMaxLen: 2048,
      prefillSeqLens: [128, 512],
      quantize: 'dynamic_int4_block32',
      lightweightConversion: true,
      outputNamePrefix: 'qwen_ft',
    });
    expect(outcome.code, outcome.stderr).toBe(0);
    const exportCall = calls.find((c) => c.call === 'export_hf.export');
    expect(exportCall?.kwargs).toEqual({
      model: modelDir,
      output_dir: out,
      prefill_lengths: [128, 512],
      cache_length: 2048,
      quantization_recipe: 'dynamic_wi4b32_afp32',
      bundle_litert_lm: true,
      trust_remote_code: false,
      experimental_lightweight_conversion: true,
    });
    const artifact = outcome.events.find((e) => e.type === 'artifact');
    expect(artifact).toMatchObject({ kind: 'litertlm', path: path.join(out, 'qwen_ft.litertlm') });
    const result = outcome.events.find((e) => e.type === 'result');
    expect(result?.type === 'result' && result.data.equivalentCommand).toBe(await equivalentConverterCommand(params));
  });

  it('refuses options the route does not have, in the schema and in the stage', async () => {
    expect(() => ConvertParams.parse({ modelDir, outDir: dir, route: 'export_hf', quantize: 'fp16' })).toThrow(/no quantization recipe/);
    expect(() => ConvertParams.parse({ modelDir, outDir: dir, route: 'example', lightweightConversion: true })).toThrow(/export_hf/);
    expect(() => ConvertParams.parse({ modelDir, outDir: dir, kvCacheMaxLen: 512, prefillSeqLens: [1024] })).toThrow(/exceeds the context length/);
  });
});

describe('convert stage without the converter installed', () => {
  it('fails at once naming the missing package and the bootstrap, with no bare traceback', async () => {
    const { outcome } = await runConvert({ modelDir, outDir: path.join(dir, 'out-missing'), route: 'export_hf' }, {}, false);
    expect(outcome.code).toBe(1);
    const error = outcome.events.find((e) => e.type === 'error');
    expect(error).toMatchObject({ code: 'missing_package' });
    expect(error?.type === 'error' && error.message).toMatch(/is not installed/);
    expect(error?.type === 'error' && error.hint).toMatch(/bootstrap/i);
    expect(outcome.text.join('\n')).not.toMatch(/Traceback/);
  });
});
