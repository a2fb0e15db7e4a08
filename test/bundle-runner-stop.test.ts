/**
 * Issue 18, item 5, at the engine host on a real bundle in LiteRT-LM's own
 * wasm engine: Stop works while the engine loads (the load cannot be
 * interrupted, so its process is ended) and while it generates; the next
 * request starts a fresh engine; an empty max-tokens cap runs to the
 * bundle's context; a follow-up turn's prefill figures describe the whole
 * prompt that was prefilled (tokens counted independently with the
 * tokenizer); a conversation longer than the context is one sentence with
 * the way out.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatPhase } from '../main/common/bundleRun.js';
import { BundleRunnerHost } from '../main/core/bundleRunner/host.js';
import { HfTokenizer } from '../main/core/tokenizer/hfTokenizer.js';
import { writeRunnableBundle } from './support/runnableBundle.js';

let dir: string;
let bundle: string;
let tokenizer: HfTokenizer;
const host = new BundleRunnerHost();

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'runner-stop-'));
  let modelDir: string;
  ({ bundle, modelDir } = await writeRunnableBundle(dir, { kv: 64, prefill: [8, 32] }));
  tokenizer = HfTokenizer.fromJson(readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8'));
}, 120_000);

afterAll(async () => {
  await host.close();
  rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 240_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('engine host: Stop, caps and figures', () => {
  it('stops a request while the engine loads, and the next request loads a fresh engine', async () => {
    const phases: ChatPhase[] = [];
    const pending = host.chat({ bundlePath: bundle, requestId: 'stop-load', messages: [{ role: 'user', content: 'Hello there' }], options: { greedy: true, maxTokens: 40 } }, { onPhase: (phase) => phases.push(phase) });
    await until(() => phases.includes('loading'), 'the engine to start loading');
    expect(host.cancel('stop-load')).toBe(true);
    const stopped = await pending;
    expect(stopped).toMatchObject({ stopReason: 'cancelled', cancelledWhile: 'loading', text: '', tokens: 0 });
    expect(phases).not.toContain('generating');

    const next = await host.chat({ bundlePath: bundle, messages: [{ role: 'user', content: 'Hello there' }], options: { greedy: true, maxTokens: 3 } });
    expect(next.stopReason).toBe('max-tokens');
    expect(next.loadSeconds).not.toBeNull();
  }, 300_000);

  it('stops a request while it generates, keeping what was generated', async () => {
    let streamed = '';
    let phase: ChatPhase | null = null;
    const pending = host.chat(
      { bundlePath: bundle, requestId: 'stop-gen', messages: [{ role: 'user', content: 'Hello there' }], options: { greedy: true, maxTokens: null } },
      { onText: (text) => (streamed += text), onPhase: (p) => (phase = p) },
    );
    await until(() => streamed.length > 0, 'the first streamed token');
    expect(phase).toBe('generating');
    expect(host.cancel('stop-gen')).toBe(true);
    const result = await pending;
    expect(result.stopReason).toBe('cancelled');
    expect(result.text.startsWith(streamed.slice(0, 1))).toBe(true);
    // The engine works afterwards.
    const after = await host.chat({ bundlePath: bundle, messages: [{ role: 'user', content: 'Hi' }], options: { greedy: true, maxTokens: 2 } });
    expect(after.stopReason).toBe('max-tokens');
  }, 300_000);

  it('with no max-tokens cap, generates until the bundle context is full (random weights never say a stop token)', async () => {
    const result = await host.chat({ bundlePath: bundle, messages: [{ role: 'user', content: 'Hi' }], options: { greedy: true, maxTokens: null } });
    expect(['context-full', 'stop-token']).toContain(result.stopReason);
    expect(result.promptTokens + result.tokens).toBeLessThanOrEqual(64);
    if (result.stopReason === 'context-full') expect(result.promptTokens + result.tokens).toBeGreaterThan(56);
  }, 300_000);

  it("reports a follow-up turn's prefill over the whole prompt it prefilled, and refuses a conversation longer than the context", async () => {
    const first = await host.chat({ bundlePath: bundle, messages: [{ role: 'user', content: 'Hello there' }], options: { greedy: true, maxTokens: 3 } });
    const followUp = await host.chat({
      bundlePath: bundle,
      messages: [
        { role: 'user', content: 'Hello there' },
        { role: 'assistant', content: first.text },
        { role: 'user', content: 'And again, tell me more' },
      ],
      options: { greedy: true, maxTokens: 3 },
    });
    // Independent count: the rendered conversation through the tokenizer read from the model folder.
    expect(followUp.promptTokens).toBe(tokenizer.encode(followUp.promptText).length);
    expect(followUp.promptTokens).toBeGreaterThan(first.promptTokens);
    expect(followUp.prefillMeasure).toBe('wall-clock');
    // The rate is the prompt's tokens over the time to the first token, not a part of the prefill over a part of the time.
    expect(followUp.prefillTokensPerSecond! * followUp.timeToFirstTokenSeconds!).toBeCloseTo(followUp.promptTokens, 6);

    const long = await host
      .chat({
        bundlePath: bundle,
        messages: [
          { role: 'user', content: 'word '.repeat(20) },
          { role: 'assistant', content: 'answer '.repeat(20) },
          { role: 'user', content: 'more '.repeat(20) },
        ],
        options: { greedy: true, maxTokens: 3 },
      })
      .catch((e: unknown) => e as { code: string; message: string; details: { hint: string } });
    expect(long).toMatchObject({ code: 'prompt_too_long' });
    expect((long as { message: string }).message).toMatch(/^The conversation is \d+ tokens with its chat template, and this bundle's context holds 64, so there is no room for an answer\.$/);
    expect((long as { details: { hint: string } }).details.hint).toMatch(/^Start a new chat/);
  }, 300_000);
});
