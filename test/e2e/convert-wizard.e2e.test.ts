/**
 * The wizard's intake and conversion steps, and the Environment page, in real
 * headless Chromium against serve mode with a fresh data directory: intake of
 * a generated full-size Qwen2.5-1.5B folder (sparse weights) and a LoRA
 * adapter that fits it, an adapter for another base refused in plain words,
 * the convert step's choices reflected in the exact converter command on both
 * routes, and the doctor's problems with their fix buttons.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';
import { decoderTensors, makeAdapter, makeModel, qwenConfig } from '../support/hfModel.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;
let adapterDir: string;
let otherAdapterDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'wizard-e2e-'));
  modelDir = await makeModel(path.join(dir, 'Qwen2.5-1.5B-Instruct'), qwenConfig(1536, 28, 8960, 12, 2, 151936, true), decoderTensors(1536, 28, 8960, 12, 2, 151936, true), true);
  adapterDir = await makeAdapter(path.join(dir, 'support-bot-lora'), 'Qwen/Qwen2.5-1.5B-Instruct', 16, {
    'model.layers.0.self_attn.q_proj': [1536, 1536],
    'model.layers.0.self_attn.v_proj': [256, 1536],
  });
  otherAdapterDir = await makeAdapter(path.join(dir, 'lora-for-3b'), 'Qwen/Qwen2.5-3B-Instruct', 16, { 'model.layers.0.self_attn.q_proj': [2048, 2048] });
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1100 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('wizard intake and conversion', () => {
  it('inspects the model and adapter, then shows the exact converter command for the choices', { timeout: 90_000 }, async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.fill('[data-testid=model-dir]', modelDir);
    await page.fill('[data-testid=adapter-dir]', otherAdapterDir);
    await page.waitForSelector('[data-testid=intake-result][data-ready=no] [data-code=adapter_for_another_base]');
    expect(await page.textContent('[data-code=adapter_for_another_base]')).toContain('Qwen/Qwen2.5-3B-Instruct');

    await page.fill('[data-testid=adapter-dir]', adapterDir);
    await page.waitForSelector('[data-testid=intake-result][data-ready=yes] [data-testid=intake-adapter]');
    const model = (await page.textContent('[data-testid=intake-model]')) ?? '';
    expect(model).toContain('Qwen2ForCausalLM');
    expect(model).toContain('1.54 B');
    expect(model).toContain('Qwen2.5 1.5B');
    expect(model).toContain('tokenizer.json');
    expect(await page.textContent('[data-testid=intake-adapter]')).toMatch(/rank 16, alpha 32/);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-intake.png'), fullPage: true });

    await page.click('[data-testid=step-tab-convert]');
    // Native (the default) offers blockwise int4; the device-memory column follows the recipe's packed size.
    await page.locator('[data-testid=device-4096]', { hasText: 'GiB' }).waitFor();
    const int8Device = (await page.textContent('[data-testid=device-4096]')) ?? '';
    expect(await page.locator('[data-testid=quant-select] option[value=dynamic_int4_block128]').count()).toBe(1);
    await page.selectOption('[data-testid=quant-select]', 'dynamic_int4_block32');
    await page.waitForFunction((before) => /GiB/.test(document.querySelector('[data-testid=device-4096]')?.textContent ?? '') && document.querySelector('[data-testid=device-4096]')?.textContent !== before, int8Device);
    const int4Device = (await page.textContent('[data-testid=device-4096]')) ?? '';
    const gib = (text: string) => Number(/([\d.]+) GiB/.exec(text)?.[1]);
    // Weights 1.54 B × 1 byte vs × 0.5625 bytes: about 0.67 GiB less on the device.
    expect(gib(int8Device) - gib(int4Device), `${int8Device} → ${int4Device}`).toBeGreaterThan(0.5);
    expect(await page.textContent('[data-testid=step-convert]')).toContain('int4 weights in blocks of 32');
    await page.screenshot({ path: path.join(SHOTS, 'wizard-convert-native-int4.png'), fullPage: true });
    // These checks are about the example route's conversion memory (the native route is the default).
    await page.selectOption('[data-testid=route-select]', 'example');
    await page.selectOption('[data-testid=quant-select]', 'weight_only_int8');
    await page.fill('[data-testid=prefill-input]', '8, 128');
    await page.check('[data-testid=mask-as-input]');
    const example = page.locator('[data-testid=convert-command]');
    await example.filter({ hasText: '--mask_as_input=true' }).waitFor();
    const exampleText = (await example.textContent()) ?? '';
    expect(exampleText).toContain('python -m ai_edge_torch.generative.examples.qwen.convert_to_tflite --model_size=1.5b');
    expect(exampleText).toContain('--prefill_seq_lens=8 --prefill_seq_lens=128');
    expect(exampleText).toContain('--quantize=weight_only_int8');
    expect(exampleText).toContain('--kv_cache_max_len=4096');
    expect(exampleText).toContain(`--checkpoint_path=${path.join(dir, 'Qwen2.5-1.5B-Instruct-workbench', 'merged')}`);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-convert-example.png'), fullPage: true });

    await page.selectOption('[data-testid=route-select]', 'export_hf');
    await page.check('[data-testid=lightweight]');
    await example.filter({ hasText: 'litert_torch.generative.export_hf' }).waitFor();
    const hfText = (await example.textContent()) ?? '';
    expect(hfText).toContain('--quantization_recipe=weight_only_wi8_afp32');
    expect(hfText).toContain("'--prefill_lengths=[8,128]'");
    expect(hfText).toContain('--experimental_lightweight_conversion=True');
    // Options the route does not have are not offered.
    expect(await page.locator('[data-testid=quant-select] option[value=fp16]').count()).toBe(0);
    expect(await page.locator('[data-testid=mask-as-input]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-convert-export-hf.png'), fullPage: true });
  });

  it('shows the doctor with what fixes every problem, and one set-up action', async () => {
    await page.click('[data-testid=nav-environment]');
    await page.waitForSelector('[data-testid=doctor-problems] [data-problem=no_env]');
    expect(await page.textContent('[data-problem=no_env]')).toContain('workbench doctor --bootstrap example');
    expect(await page.locator('[data-problem=no_env] [data-testid=fix-setup-hint]').count()).toBe(1);
    expect(await page.locator('[data-testid=doctor] button', { hasText: /set up|rebuild/i }).count()).toBe(1);
    expect(await page.textContent('[data-testid=doctor]')).toContain('ai-edge-torch');
    await page.screenshot({ path: path.join(SHOTS, 'environment-doctor.png'), fullPage: true });
  });
});
