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
