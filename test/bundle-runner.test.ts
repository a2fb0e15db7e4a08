/**
 * The engine host on real bundles: LiteRT-LM's own wasm engine in a child
 * process. The fixture bundle (a tokenizer section only, no LlmMetadata)
 * makes the engine abort; the host must say why in one sentence and stay
 * usable for the next request.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BundleRunnerHost } from '../main/core/bundleRunner/host.js';
import { nodeStageScript } from '../main/core/paths.js';

const FIXTURE = path.resolve('../shared/fixtures/litertlm/test_hf_tokenizer.litertlm');

describe('engine host', () => {
  const host = new BundleRunnerHost();
  afterAll(() => host.close());

  it('is built', () => {
    expect(existsSync(nodeStageScript('bundle-runner'))).toBe(true);
  });

  it('reports the abort of a bundle without LlmMetadata in one sentence, twice in a row', async () => {
    const info = await host.info(FIXTURE);
    expect(info.hasMetadata).toBe(false);
    expect(info.problems[0]).toMatch(/no LlmMetadata section; LiteRT-LM 0\.17\.1 aborts/);
    for (let i = 0; i < 2; i++) {
      const error = await host.chat({ bundlePath: FIXTURE, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => null,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(error?.code).toBe('bundle_cannot_run');
      expect(error?.message).toBe('The engine aborted loading test_hf_tokenizer.litertlm: the bundle has no LlmMetadata section, which LiteRT-LM 0.17.1 requires.');
    }
  });

  it('refuses a path that is not a bundle with a clear error', async () => {
    await expect(host.chat({ bundlePath: '/nonexistent/x.litertlm', messages: [{ role: 'user', content: 'hi' }] })).rejects.toThrow('The bundle /nonexistent/x.litertlm does not exist.');
  });
});

describe('engine host on a converted bundle', () => {
  it('refuses a bundle predicted not to fit the heap with the figure and what to use instead', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const os = await import('node:os');
    const { writeRunnableBundle } = await import('./support/runnableBundle.js');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'heap-fit-'));
    try {
      const { bundle, tflite } = await writeRunnableBundle(dir, { kv: 64, prefill: [8] });
      const { readTflite } = await import('../main/core/formats/tflite.js');
      const { kvCacheBytes, predictHeap, WORKSPACE_BYTES } = await import('../main/core/bundleRunner/heapFit.js');
      const summary = readTflite(tflite);
      // Independent figure: 2 layers × (K + V) × 64 positions × 2 KV heads × head_dim 16 × 4 bytes.
      expect(kvCacheBytes(summary)).toBe(2 * 2 * 64 * 2 * 16 * 4);
      const fit = predictHeap(summary);
      expect(fit.predictedBytes).toBe(summary.sizeBytes * 3 + kvCacheBytes(summary) + WORKSPACE_BYTES);
      const small = new BundleRunnerHost({ heapLimitBytes: 64 * 1024 ** 2 });
      const error = await small.chat({ bundlePath: bundle, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e as { code: string; message: string; details: { hint: string } });
      expect(error).toMatchObject({ code: 'bundle_too_large' });
      expect((error as { message: string }).message).toMatch(/^model\.litertlm does not fit the engine's 64\.0 MiB wasm heap: \d+ MiB predicted \(model [\d.]+ MiB held once and packed for each of 2 signatures, KV cache 32\.0 KiB, workspace 192 MiB\)\.$/);
      expect((error as { details: { hint: string } }).details.hint).toContain('python-env/runners/litert_lm_chat.py');
      await small.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
