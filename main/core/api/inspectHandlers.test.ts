import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DerivedMetadata } from '../../common/api/inspect.js';
import type { Envelope } from '../../common/api/contract.js';
import { InspectionSummary } from '../../common/formats.js';
import { writeSyntheticTflite } from '../../../test/support/syntheticTflite.js';
import { createEngine, type Engine } from '../engine.js';
import { createDispatch, type Dispatch } from './dispatch.js';
import { createHandlers } from './handlers.js';

const FIXTURES = '/work/shared/fixtures';
let dir: string;
let engine: Engine;
let dispatch: Dispatch;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-inspectapi-'));
  engine = createEngine({ mode: 'serve', dataDir: path.join(dir, 'data') });
  dispatch = createDispatch(createHandlers(engine));
});
afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

describe('inspect API', () => {
  it('inspect.open summarises any artifact and reports unreadable ones as errors', async () => {
    const ok = (await dispatch('inspect.open', { path: path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm') })) as Envelope<unknown>;
    expect(ok.ok).toBe(true);
    const summary = InspectionSummary.parse(ok.ok ? ok.value : null);
    expect(summary.format).toBe('litertlm');
    const missing = await dispatch('inspect.open', { path: path.join(dir, 'missing.tflite') });
    expect(missing).toMatchObject({ ok: false, error: { code: 'file_not_found' } });
    expect(await dispatch('inspect.open', { path: '' })).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
  });

  it('package.deriveMetadata gives the editable metadata with its sources', async () => {
    const modelDir = path.join(dir, 'model');
    await mkdir(modelDir);
    await symlink(path.join(FIXTURES, 'litertlm', 'tokenizer.json'), path.join(modelDir, 'tokenizer.json'));
    await writeFile(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>', chat_template: "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}" }));
    await writeFile(path.join(modelDir, 'generation_config.json'), JSON.stringify({ eos_token_id: [2], do_sample: true, temperature: 0.6, top_p: 0.9 }));
    await writeFile(path.join(modelDir, 'config.json'), JSON.stringify({ architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3' }));
    const tflitePath = path.join(dir, 'model.tflite');
    await writeSyntheticTflite(tflitePath, { kvCacheMaxLen: 8192 });
    const envelope = await dispatch('package.deriveMetadata', { modelDir, tflitePath });
    expect(envelope.ok).toBe(true);
    const derived = DerivedMetadata.parse(envelope.ok ? envelope.value : null);
    expect(derived.metadata).toMatchObject({ stopTokens: [{ tokenIds: { ids: [2] } }], maxNumTokens: 8192, llmModelType: { qwen3: {} }, samplerParams: { type: 'TOP_P', p: 0.9, temperature: 0.6, k: 50 } });
    expect(derived.sources.maxNumTokens).toMatch(/KV-cache length of the \.tflite \(8192 tokens\)/);
  });
});
