import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunPlan } from '../../common/stages/plan.js';
import { createEngine } from '../engine.js';
import { hostSnapshot } from '../host.js';
import { attachMemory, calibrationFor } from './engineMemory.js';

describe('attachMemory', () => {
  it('turns finished and guard-stopped conversions into calibration points in the history database', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-engmem-'));
    const engine = createEngine({ mode: 'cli', dataDir: path.join(dir, 'data') });
    try {
      const modelDir = path.join(dir, 'model');
      await mkdir(modelDir);
      await copyFile('/work/shared/fixtures/qwen3-tokenizer/tokenizer_config.json', path.join(modelDir, 'tokenizer_config.json'));
      await writeFile(
        path.join(modelDir, 'config.json'),
        JSON.stringify({ architectures: ['Qwen2ForCausalLM'], hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, intermediate_size: 4864, vocab_size: 151936, tie_word_embeddings: true, torch_dtype: 'bfloat16' }),
      );
      const attached = await attachMemory(engine);
      expect(attached.calibration).toBe(await calibrationFor(engine.history));

      const record = async (status: 'succeeded' | 'stopped_by_guard' | 'failed', peak: number) => {
        const plan = RunPlan.parse({ stages: [{ kind: 'convert', params: { modelDir, outDir: path.join(dir, 'out'), kvCacheMaxLen: 2048 } }] });
        const runId = engine.history.createRun({ plan, host: hostSnapshot() });
        const stage = engine.history.getRun(runId).stages[0]!;
        engine.history.addMemorySample(runId, stage.id, { t: 1, sysTotal: 64e9, sysAvailable: 40e9, sysUsed: 24e9, swapTotal: 0, swapUsed: 0, treeRss: peak });
        engine.history.updateStage(stage.id, { status, startedAt: 1_000, finishedAt: 601_000 });
        engine.events.publish({ type: 'stage', stage: engine.history.getStage(stage.id) });
      };
      await record('succeeded', 20e9);
      await record('stopped_by_guard', 30e9);
      await record('failed', 50e9); // a failure says nothing about memory
      await new Promise((r) => setTimeout(r, 200));

      const service = await calibrationFor(engine.history);
      expect(service.current().runs).toBe(2);
      expect(service.current().censoredRuns).toBe(1);
      expect(service.points().map((p) => p.durationSec)).toEqual([600, 600]);
      expect(engine.history.getSetting('memory.calibration')).toMatchObject({ version: 1 });
      attached.detach();
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
