/**
 * Intake on folders the test writes: a full-size Qwen2.5-1.5B checkpoint as a
 * sparse file (real headers, real tensor table, no real bytes), tiny models
 * with adapters that fit or were trained on another base, and broken folders.
 */
import { mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decoderTensors, makeAdapter as makeAdapterIn, makeModel as makeModelIn, qwenConfig, type Tensors } from '../../../test/support/hfModel.js';
import { runIntake } from './intake.js';

let dir: string;

const makeModel = (name: string, config: object | null, tensors: Tensors | null, withTokenizer = false) => makeModelIn(path.join(dir, name), config, tensors, withTokenizer);
const makeAdapter = (name: string, base: string, r: number, modules: Record<string, [number, number]>, alpha = 32) => makeAdapterIn(path.join(dir, name), base, r, modules, alpha);

const codes = (result: Awaited<ReturnType<typeof runIntake>>) => result.problems.map((p) => p.code);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'intake-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('model intake', () => {
  it('reads a full-size Qwen2.5-1.5B checkpoint from headers only', async () => {
    const folder = await makeModel('Qwen2.5-1.5B-Instruct', qwenConfig(1536, 28, 8960, 12, 2, 151936, true), decoderTensors(1536, 28, 8960, 12, 2, 151936, true), true);
    const result = await runIntake({ modelDir: folder, route: 'example' }); // 3 GB of weights: headers only (a full read would run past the test's limit)
    expect(result.ready).toBe(true);
    const model = result.model!;
    expect(model.architecture).toBe('Qwen2ForCausalLM');
    expect(model.support.example).toMatchObject({ supported: true, builder: 'Qwen2.5 1.5B' });
    expect(model.support.export_hf.supported).toBe(true);
    expect(model.parameterCount).toBe(1_543_714_304);
    expect(model.parameterCountFromConfig).toBe(1_543_714_304);
    expect(model.configDtype).toBe('bfloat16');
    expect(model.tensorDtypes).toEqual(['BF16']);
    expect(model.sizeOnDiskBytes).toBeGreaterThan(3_000_000_000);
    expect(model.tokenizerFiles).toEqual(['tokenizer.json', 'tokenizer_config.json']);
    expect(model.chatTemplate.present).toBe(true);
    expect(model.hasLoraTensors).toBe(false);
    expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('names a Qwen size no builder has and points to export_hf', async () => {
    const folder = await makeModel('qwen-tiny', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const example = await runIntake({ modelDir: folder, route: 'example' });
    expect(example.ready).toBe(false);
    const problem = example.problems.find((p) => p.code === 'no_example_builder');
    expect(problem).toMatchObject({ severity: 'error' });
    // The native route builds this Qwen2 size: that is the way out, not export_hf.
    expect(problem?.fix).toBe('Use the native route (the default), which builds this model without Python.');
    const native = await runIntake({ modelDir: folder, route: 'native' });
    expect(native.model?.support.native.supported).toBe(true);
    expect(native.problems.map((p) => p.code)).not.toContain('no_example_builder');
    expect(JSON.stringify(native.problems)).not.toMatch(/export_hf/);
    const hf = await runIntake({ modelDir: folder, route: 'export_hf' });
    // No tokenizer, chat template or generation config: warned, with what to do.
    expect(hf.problems.filter((p) => p.code === 'folder_warning').length).toBeGreaterThanOrEqual(2);
  });

  it('reports a missing config, a missing folder and an unsupported architecture', async () => {
    const noConfig = await makeModel('no-config', null, { 'w.weight': { dtype: 'F32', shape: [2, 2] } });
    await writeFile(path.join(noConfig, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {}, "merges": []}}');
    expect(codes(await runIntake({ modelDir: noConfig, route: 'example' }))).toContain('missing_config');
    expect(codes(await runIntake({ modelDir: path.join(dir, 'nope'), route: 'example' }))).toEqual(['model_not_found']);
    const bert = await makeModel('bert', { architectures: ['BertModel'], hidden_size: 8 }, { 'w.weight': { dtype: 'F32', shape: [2, 2] } });
    expect(codes(await runIntake({ modelDir: bert, route: 'export_hf' }))).toContain('unsupported_architecture');
  });

  it('refuses a truncated safetensors header', async () => {
    const folder = await makeModel('truncated', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    await truncate(path.join(folder, 'model.safetensors'), 40);
    const result = await runIntake({ modelDir: folder, route: 'export_hf' });
    expect(result.ready).toBe(false);
    const problem = result.problems.find((p) => p.code === 'bad_weights');
    expect(problem?.message).toMatch(/cannot be read/);
    expect(problem?.fix).toMatch(/truncated/);
  });

  it('finds LoRA tensors left in an unmerged checkpoint', async () => {
    const tensors = decoderTensors(64, 2, 128, 4, 2, 256, true);
    tensors['base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'] = { dtype: 'F32', shape: [8, 64] };
    const folder = await makeModel('unmerged', qwenConfig(64, 2, 128, 4, 2, 256, true), tensors);
    const result = await runIntake({ modelDir: folder, route: 'export_hf' });
    expect(result.model?.hasLoraTensors).toBe(true);
    expect(codes(result)).toContain('unmerged_lora');
  });
});

describe('adapter intake', () => {
  const modules = (h: number, inter: number, kv: number) => ({
    'model.layers.0.self_attn.q_proj': [h, h] as [number, number],
    'model.layers.0.self_attn.v_proj': [kv, h] as [number, number],
    'model.layers.1.mlp.down_proj': [h, inter] as [number, number],
  });

  it('accepts an adapter whose shapes fit its base and reports rank, alpha and targets', async () => {
    const base = await makeModel('tiny-base', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const adapter = await makeAdapter('adapter-ok', '/models/tiny-base', 8, modules(64, 128, 32));
    const result = await runIntake({ modelDir: base, adapterDir: adapter, route: 'export_hf' });
    expect(result.adapter).toMatchObject({ peftType: 'LORA', rank: 8, alpha: 32, baseNameMatches: 'yes', loraModules: 3, shapesChecked: 3, shapeMismatches: [], modulesMissingInBase: [] });
    expect(result.adapter?.targetModules.sort()).toEqual(['down_proj', 'q_proj', 'v_proj']);
    expect(codes(result).filter((c) => c.startsWith('adapter'))).toEqual([]);
  });

  it('only warns about an adapter naming another base when every pair fits (the name is a hint, the shapes decide)', async () => {
    const base = await makeModel('folder-named-anything', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const adapter = await makeAdapter('adapter-named-base', 'Qwen/Qwen2.5-0.5B-Instruct', 8, modules(64, 128, 32));
    const result = await runIntake({ modelDir: base, adapterDir: adapter, route: 'export_hf' });
    expect(result.ready).toBe(true);
    expect(result.adapter?.baseNameMatches).toBe('no');
    const problem = result.problems.find((p) => p.code === 'adapter_base_name_differs');
    expect(problem?.severity).toBe('warn');
    expect(problem?.message).toMatch(/names "Qwen\/Qwen2\.5-0\.5B-Instruct" as its base.*so it merges/);
  });

  it('says in step 1 what the merge itself would refuse (weights for a module the config does not target)', async () => {
    const base = await makeModel('tiny-base-targets', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const adapter = await makeAdapter('adapter-untargeted', 'tiny-base-targets', 8, modules(64, 128, 32));
    const configFile = path.join(adapter, 'adapter_config.json');
    await writeFile(configFile, JSON.stringify({ ...JSON.parse(await readFile(configFile, 'utf8')), target_modules: ['q_proj'] }));
    const result = await runIntake({ modelDir: base, adapterDir: adapter, route: 'export_hf' });
    expect(result.ready).toBe(false);
    expect(result.problems.find((p) => p.code === 'adapter_config_mismatch')?.message).toMatch(/^The merge would refuse this adapter: /);
  });

  it('refuses an adapter trained on another base, naming it', async () => {
    const base = await makeModel('tiny-base-2', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const adapter = await makeAdapter('adapter-other', 'Qwen/Qwen2.5-0.5B-Instruct', 16, modules(128, 256, 64));
    const result = await runIntake({ modelDir: base, adapterDir: adapter, route: 'export_hf' });
    expect(result.ready).toBe(false);
    expect(result.adapter?.baseNameMatches).toBe('no');
    expect(result.adapter?.shapeMismatches[0]).toMatchObject({ module: 'model.layers.0.self_attn.q_proj', expected: 'A [16, 64], B [64, 16]', actual: 'A [16, 128], B [128, 16]' });
    const problem = result.problems.find((p) => p.code === 'adapter_for_another_base');
    expect(problem?.message).toContain('Qwen/Qwen2.5-0.5B-Instruct');
    expect(problem?.fix).toContain('Qwen/Qwen2.5-0.5B-Instruct');
  });

  it('reports a shape mismatch even when the names agree, and modules the base lacks', async () => {
    const base = await makeModel('tiny-base-3', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const adapter = await makeAdapter('adapter-shape', 'tiny-base-3', 8, { 'model.layers.0.self_attn.q_proj': [64, 32], 'model.layers.5.self_attn.q_proj': [64, 64] });
    const result = await runIntake({ modelDir: base, adapterDir: adapter, route: 'export_hf' });
    expect(codes(result)).toContain('adapter_shape_mismatch');
    expect(result.adapter?.modulesMissingInBase).toEqual(['model.layers.5.self_attn.q_proj']);
  });

  it('explains an adapter folder picked as the model, and a folder without adapter_config.json', async () => {
    const adapter = await makeAdapter('adapter-as-model', 'x', 4, { 'model.layers.0.self_attn.q_proj': [64, 64] });
    expect(codes(await runIntake({ modelDir: adapter, route: 'example' }))).toEqual(['adapter_as_model']);
    const base = await makeModel('tiny-base-4', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const notAdapter = await mkdtemp(path.join(dir, 'empty-'));
    expect(codes(await runIntake({ modelDir: base, adapterDir: notAdapter, route: 'export_hf' }))).toContain('adapter_config_missing');
  });

  it('refuses a truncated adapter file', async () => {
    const base = await makeModel('tiny-base-5', qwenConfig(64, 2, 128, 4, 2, 256, true), decoderTensors(64, 2, 128, 4, 2, 256, true));
    const adapter = await makeAdapter('adapter-truncated', 'tiny-base-5', 8, modules(64, 128, 32));
    const handle = await open(path.join(adapter, 'adapter_model.safetensors'), 'r+');
    await handle.truncate(12);
    await handle.close();
    expect(codes(await runIntake({ modelDir: base, adapterDir: adapter, route: 'export_hf' }))).toContain('bad_adapter_weights');
  });
});
