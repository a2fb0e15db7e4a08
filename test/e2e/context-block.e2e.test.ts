/**
 * The wizard blocks context lengths predicted to run out of memory: on a
 * (simulated) 128 GiB serve host, Qwen2.5-1.5B at 4096 fits and 32768 is
 * disabled with the reason in one sentence — the field report's situation.
 * Starting a blocked conversion anyway is refused by the engine, and the
 * expert override in Settings makes the option selectable again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';
import { makeModel, qwenConfig } from '../support/hfModel.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'context-e2e-'));
  modelDir = await makeModel(path.join(dir, 'Qwen2.5-1.5B-Instruct'), qwenConfig(1536, 28, 8960, 12, 2, 151936, true), null);
  ({ server, browser, page } = await openApp({ serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '128G' } }, viewport: { width: 1400, height: 1100 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('context length blocking in the wizard', () => {
  it('disables 32k with the reason, keeps 4096 open, and honours the expert override', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.fill('[data-testid=model-dir]', modelDir);
    await page.click('[data-testid=step-tab-convert]');
    // These checks are about the example route's conversion memory (the native route is the default).
    await page.selectOption('[data-testid=route-select]', 'example');
    await page.waitForSelector('[data-testid=context-32768][data-fit=blocked]');
    expect(await page.getAttribute('[data-testid=context-4096]', 'data-fit')).toBe('fits');
    expect(await page.isDisabled('[data-testid=context-4096] input')).toBe(false);
    expect(await page.isDisabled('[data-testid=context-32768] input')).toBe(true);
    const reason = (await page.textContent('[data-testid=blocked-reason-32768]')) ?? '';
    expect(reason).toMatch(/GiB/);
    expect(reason).toContain('expert override');
    expect(await page.textContent('[data-testid=context-32768]')).toMatch(/\d+ GiB \(up to \d+ GiB\)/);
    await page.screenshot({ path: path.join(SHOTS, 'context-blocked.png'), fullPage: true });

    // What cannot be used is said at the field, not silently dropped.
    await page.fill('[data-testid=context-custom]', '-100');
    expect(await page.textContent('[data-testid=context-custom-error]')).toBe('A context length is a whole number from 16 to 262,144.');
    await page.fill('[data-testid=context-custom]', '');
    await page.fill('[data-testid=prefill-input]', '8, 64, abc');
    expect(await page.textContent('.field.invalid .field-error')).toBe('Not a prefill length: abc (whole numbers of 1 or more, separated by commas).');
    await page.fill('[data-testid=prefill-input]', '8, 64, 8192');
    expect(await page.textContent('.field.invalid .field-error')).toBe('The longest prefill length (8192) exceeds the context length (4096).');
    // Typing a list keeps its commas; the valid list reaches the plan.
    await page.fill('[data-testid=prefill-input]', '8, 64, 256,');
    expect(await page.inputValue('[data-testid=prefill-input]')).toBe('8, 64, 256,');
    expect(await page.locator('.field.invalid').count()).toBe(0);
    await page.click('[data-testid=step-tab-review]');
    const plan = JSON.parse((await page.textContent('[data-testid=plan-json]')) ?? '{}') as { stages: { kind: string; params: { prefillSeqLens?: number[] } }[] };
    expect(plan.stages.find((s) => s.kind === 'convert')?.params.prefillSeqLens).toEqual([8, 64, 256]);
    await page.click('[data-testid=step-tab-convert]');
    // These checks are about the example route's conversion memory (the native route is the default).
    await page.selectOption('[data-testid=route-select]', 'example');
    expect(await page.inputValue('[data-testid=prefill-input]')).toBe('8, 64, 256');
    // Back to the converter's defaults: fewer prefill signatures would need less memory at 32k.
    await page.fill('[data-testid=prefill-input]', '8, 64, 128, 256, 512, 1024');

    // The expert override (Settings) makes the blocked option selectable.
    await page.click('[data-testid=nav-settings]');
    expect(await page.textContent('[data-testid=calibration-runs]')).toContain('No conversions on this host yet');
    expect(await page.isDisabled('[data-testid=reset-calibration]')).toBe(true);
    // A warn level above the stop level is explained at the field and cannot be saved.
    await page.fill('[data-testid=warn-percent]', '95');
    expect(await page.textContent('.field.invalid .field-error')).toBe('The warn level (95 %) must be below the stop level (90 %), or the stage is stopped without a warning first.');
    expect(await page.isDisabled('[data-testid=save-settings]')).toBe(true);
    await page.fill('[data-testid=warn-percent]', '75');
    expect(await page.locator('.field.invalid').count()).toBe(0);
    await page.check('[data-testid=allow-oom]');
    await page.click('[data-testid=save-settings]');
    await page.waitForSelector('[data-testid=save-settings]:has-text("Saved")');
    await page.click('[data-testid=nav-new]');
    await page.click('[data-testid=step-tab-convert]');
    // These checks are about the example route's conversion memory (the native route is the default).
    await page.selectOption('[data-testid=route-select]', 'example');
    await page.waitForSelector('[data-testid=context-32768][data-fit=blocked]');
    // 32k of a 1.5B model also exceeds an 8 GiB phone: the device block has its own override.
    expect(await page.getAttribute('[data-testid=context-32768]', 'data-device-fit')).toBe('blocked');
    expect(await page.isDisabled('[data-testid=context-32768] input')).toBe(true);
    expect(await page.textContent('[data-testid=blocked-reason-32768]')).toMatch(/On the device the model needs about .* more than the .* an app can count on with 8\.0 GiB of RAM\./);
    await page.check('[data-testid=allow-device-overflow]');
    expect(await page.isDisabled('[data-testid=context-32768] input')).toBe(false);
  });
});
