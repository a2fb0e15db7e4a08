import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunPlan } from '../../common/stages/plan.js';
import { withDefaultRoutes } from './defaultRoute.js';

let dir: string;
let qwen: string;
let gemma: string;

async function folder(name: string, config: Record<string, unknown>): Promise<string> {
  const target = path.join(dir, name);
  await mkdir(target);
  await writeFile(path.join(target, 'config.json'), JSON.stringify(config));
  return target;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'default-route-'));
  qwen = await folder('qwen', { architectures: ['Qwen2ForCausalLM'], hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936 });
  gemma = await folder('gemma2', { architectures: ['Gemma2ForCausalLM'], hidden_size: 2304, num_hidden_layers: 26, num_attention_heads: 8, num_key_value_heads: 4, intermediate_size: 9216, vocab_size: 256000 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const routeOf = async (stages: unknown[]) => RunPlan.parse(await withDefaultRoutes({ stages })).stages.map((s) => (s.kind === 'convert' ? s.params.route : s.kind));

describe('a plan without a route', () => {
  it('takes the native route where the native converter builds the model, else the example route', async () => {
    expect(await routeOf([{ kind: 'convert', params: { modelDir: qwen, outDir: path.join(dir, 'out') } }])).toEqual(['native']);
    expect(await routeOf([{ kind: 'convert', params: { modelDir: gemma, outDir: path.join(dir, 'out') } }])).toEqual(['example']);
  });

  it('keeps a named route, and options only the example route has keep it there', async () => {
    expect(await routeOf([{ kind: 'convert', params: { modelDir: qwen, outDir: path.join(dir, 'out'), route: 'example' } }])).toEqual(['example']);
    expect(await routeOf([{ kind: 'convert', params: { modelDir: qwen, outDir: path.join(dir, 'out'), maskAsInput: true } }])).toEqual(['example']);
    // Every quantization is native now (blockwise int4 too), so a recipe alone does not move a plan off the native route.
    expect(await routeOf([{ kind: 'convert', params: { modelDir: qwen, outDir: path.join(dir, 'out'), quantize: 'dynamic_int4_block32' } }])).toEqual(['native']);
  });

  it('judges a merged folder by the merge base it is written from', async () => {
    const merged = path.join(dir, 'merged');
    const stages = [
      { kind: 'merge', params: { baseDir: qwen, adapterDir: path.join(dir, 'adapter'), outDir: merged } },
      { kind: 'convert', params: { modelDir: merged, outDir: path.join(dir, 'out') } },
    ];
    expect(await routeOf(stages)).toEqual(['merge', 'native']);
  });
});
