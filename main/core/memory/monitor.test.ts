import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemorySample } from '../../common/memory.js';
import { Settings } from '../../common/settings.js';
import { ConvertParams } from '../../common/stages/convert.js';
import type { StageMonitorContext } from '../../common/stageMonitor.js';
import { createMemoryMonitor } from './monitor.js';
import type { Suggestion } from './suggestions.js';

const GB = 1e9;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'workbench-monitor-'));
  await mkdir(path.join(dir, 'model'));
  await copyFile('/work/shared/fixtures/qwen3-tokenizer/tokenizer_config.json', path.join(dir, 'model', 'tokenizer_config.json'));
  await writeFile(
    path.join(dir, 'model', 'config.json'),
    JSON.stringify({ architectures: ['Qwen2ForCausalLM'], hidden_size: 1536, num_hidden_layers: 28, num_attention_heads: 12, num_key_value_heads: 2, intermediate_size: 8960, vocab_size: 151936, tie_word_embeddings: true, torch_dtype: 'bfloat16' }),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createMemoryMonitor', () => {
  it('streams samples, warns at the warn level and asks for one stop with figures and suggestions', async () => {
    // A 16 GB host: a conversion at kv 4096 growing 1 GB per sample from 8 GB used.
    let used = 8;
    const samples: MemorySample[] = [];
    const logs: { level: string; text: string }[] = [];
    const stops: { message: string; details: Record<string, unknown> }[] = [];
    const ctx: StageMonitorContext = {
      runId: 1,
      stageId: 1,
      stage: { kind: 'convert', params: ConvertParams.parse({ modelDir: path.join(dir, 'model'), outDir: path.join(dir, 'out'), kvCacheMaxLen: 4096 }) },
      pid: process.pid,
      settings: Settings.parse({ memory: { sampleIntervalMs: 100, consecutiveSamples: 2 } }),
      recordSample: (s) => samples.push(s),
      log: (level, text) => logs.push({ level, text }),
      stop: (outcome) => stops.push(outcome),
    };
    const monitor = createMemoryMonitor({
      readHost: async () => {
        used = Math.min(15.8, used + 1);
        return { total: 16 * GB, available: (16 - used) * GB, swapTotal: 0, swapUsed: 0 };
      },
      createTreeReader: () => ({ read: async () => ({ rssBytes: (used - 2) * GB, pids: [process.pid], rootAlive: true }) }),
    })(ctx);
    // Polled, not timed: a loaded machine may deliver the samples late.
    const deadline = Date.now() + 120_000;
    while (stops.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    monitor.dispose();
    const count = samples.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(samples.length).toBe(count);

    expect(logs.filter((l) => l.level === 'warn' && /warn level 75%/.test(l.text))).toHaveLength(1);
    expect(stops).toHaveLength(1);
    const { message, details } = stops[0]!;
    expect(message).toMatch(/Stopped by the memory guard: RAM in use stayed at 9\d% of 14\.9 GiB \(stop level 90%\)/);
    expect(details).toMatchObject({ reasons: expect.arrayContaining(['used_fraction']), thresholds: { stopUsedFraction: 0.9, consecutiveSamples: 2 } });
    expect((details.estimate as { peakBytes: { expected: number } }).peakBytes.expected).toBeGreaterThan(30 * GB);
    const suggestions = details.suggestions as Suggestion[];
    expect(suggestions.map((s) => s.kind)).toEqual(expect.arrayContaining(['mask_as_input', 'lightweight', 'quantization', 'bigger_host']));
    // Ranked: anything that fits this 16 GB host comes before what is blocked.
    const firstBlocked = suggestions.findIndex((s) => s.fit === 'blocked');
    expect(suggestions.slice(firstBlocked).every((s) => s.fit === 'blocked')).toBe(true);
    const bigger = suggestions.find((s) => s.kind === 'bigger_host')!;
    expect(bigger.text).toMatch(/at least \d+ GiB/);
  });
});
