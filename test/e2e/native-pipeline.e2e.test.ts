/**
 * The wizard's default path with the native converter, in real headless
 * Chromium against serve mode with a fresh data directory: a tiny
 * Qwen2-architecture model (real Qwen tokenizer, real weights) and a LoRA
 * adapter go merge → native convert → package → verify, all for real. The
 * conversion step offers the native route by default and says why; the run
 * page records the .tflite as an artifact.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';
import { makeAdapter, SHARED_FIXTURES } from '../support/hfModel.js';
import { writeTinyDecoder } from '../support/tinyDecoder.js';
import { copyFile, writeFile } from 'node:fs/promises';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;
let adapterDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'native-pipeline-e2e-'));
  modelDir = await writeTinyDecoder(path.join(dir, 'tiny-qwen-chat'), { family: 'qwen2', layers: 2, hidden: 64, heads: 4, kvHeads: 2, intermediate: 96, vocab: 151_936 });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(path.join(SHARED_FIXTURES, 'qwen3-tokenizer', f), path.join(modelDir, f));
  await writeFile(path.join(modelDir, 'generation_config.json'), JSON.stringify({ eos_token_id: [151645, 151643], temperature: 0.7, top_p: 0.8, top_k: 20 }));
  adapterDir = await makeAdapter(path.join(dir, 'tiny-lora'), 'Qwen/tiny-qwen-chat', 4, {
    'model.layers.0.self_attn.q_proj': [64, 64],
    'model.layers.1.self_attn.v_proj': [32, 64],
  });
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1100 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('wizard with the native converter', () => {
  it('runs merge → native convert → package → verify on a tiny model', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.fill('[data-testid=model-dir]', modelDir);
    await page.fill('[data-testid=adapter-dir]', adapterDir);
    await page.waitForSelector('[data-testid=intake-adapter]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid=intake-model]')).toContain('The native converter builds Qwen2ForCausalLM (2 layers, 4/2 heads) in bounded memory, without Python.');

    await page.click('[data-testid=step-tab-convert]');
    expect(await page.inputValue('[data-testid=route-select]')).toBe('native');
    const command = page.locator('[data-testid=convert-command]');
    await command.filter({ hasText: 'workbench convert' }).waitFor();
    await page.click('[data-testid=context-512] input');
    await page.fill('[data-testid=prefill-input]', '8, 64');
    await command.filter({ hasText: '--prefill=8,64' }).waitFor();
    const text = (await command.textContent()) ?? '';
    expect(text).toContain('--quant=dynamic_int8');
    expect(text).toContain('--kv=512');
    // The device column: a 512-token context of a tiny model fits an 8 GiB phone.
    await page.waitForSelector('[data-testid=context-512][data-device-fit=fits]');
    expect(await page.textContent('[data-testid=device-512]')).toMatch(/MiB|GiB/);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-convert-native.png'), fullPage: true });

    await page.click('[data-testid=step-tab-review]');
    await page.click('[data-testid=start-run]');
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]', { timeout: 180_000 });
    const stages = await page.$$eval('[data-testid=stage]', (items) => items.map((item) => item.getAttribute('data-stage-status')));
    expect(stages).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const tflite = path.join(dir, 'tiny-qwen-chat-workbench', 'tflite', 'tiny_qwen_chat_q8_ekv512.tflite');
    expect((await stat(tflite)).size).toBeGreaterThan(9_000_000);
    expect(await page.textContent('[data-testid=run-detail]')).toContain('tiny_qwen_chat_q8_ekv512.tflite');
    await page.screenshot({ path: path.join(SHOTS, 'native-pipeline-run.png'), fullPage: true });

    // The bundle answers in LiteRT-LM's own engine (the Try page, greedy, a few tokens).
    const bundle = path.join(dir, 'tiny-qwen-chat-workbench', 'tiny_qwen_chat.litertlm');
    await page.evaluate((file) => (window.location.hash = `#/try?bundle=${encodeURIComponent(file)}`), bundle);
    await page.waitForSelector('[data-testid=try-info][data-fits=true]', { timeout: 60_000 });
    await page.click('[data-testid=try-overrides] summary');
    await page.check('[data-testid=try-greedy]');
    await page.fill('[data-testid=try-max-tokens]', '8');
    await page.fill('[data-testid=try-input]', 'Hello');
    await page.click('[data-testid=try-send]');
    await page.waitForSelector('[data-testid=try-turn-0]:not([data-state=streaming])', { timeout: 120_000 });
    expect(await page.getAttribute('[data-testid=try-turn-0]', 'data-state')).toBe('done');
    expect(((await page.textContent('[data-testid=try-answer-0]')) ?? '').length).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid=try-stats-0]')).toMatch(/tok\/s/);
    await page.screenshot({ path: path.join(SHOTS, 'native-pipeline-try.png'), fullPage: true });
  }, 360_000);

  it('explains a model the native route cannot build and offers a Python route in one click', async () => {
    const sliding = await writeTinyDecoder(path.join(dir, 'sliding-window-model'), { family: 'qwen2', layers: 1, config: { use_sliding_window: true } });
    await page.evaluate(() => (window.location.hash = '#/new'));
    await page.fill('[data-testid=model-dir]', sliding);
    await page.fill('[data-testid=adapter-dir]', '');
    await page.waitForSelector('[data-testid=intake-model]', { timeout: 30_000 });
    await page.click('[data-testid=step-tab-convert]');
    await page.selectOption('[data-testid=route-select]', 'native');
    const message = page.locator('[data-testid=route-unsupported]');
    await message.waitFor();
    expect(await message.textContent()).toContain('config.json use_sliding_window is true (sliding-window attention): the native converter does not build this; use the export_hf route');
    await page.click('[data-testid=use-route-export_hf]');
    expect(await page.inputValue('[data-testid=route-select]')).toBe('export_hf');
    await page.screenshot({ path: path.join(SHOTS, 'wizard-convert-native-refused.png'), fullPage: true });
  }, 60_000);
});
