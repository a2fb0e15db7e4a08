/**
 * The Verify step in real headless Chromium against serve mode: check a
 * packaged bundle with a missing end-of-turn stop token and greedy sampling
 * against its Qwen model folder, see the failing items, apply the metadata
 * fix, and see the re-check pass.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';
import { writeTestBundle } from '../support/bundles.js';
import { QWEN25_GENERATION_CONFIG, QWEN25_TEMPLATE, writeQwenModelFolder } from '../support/fidelityModels.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fidelity-e2e-'));
  modelDir = writeQwenModelFolder(path.join(dir, 'qwen-finetune'), { generationConfig: { ...QWEN25_GENERATION_CONFIG, repetition_penalty: 1.0 } });
  bundle = await writeTestBundle(path.join(dir, 'device.litertlm'), modelDir, {
    metadata: { stopTokens: [{ tokenIds: { ids: [151643] } }], jinjaPromptTemplate: QWEN25_TEMPLATE, maxNumTokens: 4096, llmModelType: { qwen2p5: {} } },
  });
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Verify step', () => {
  it('checks a defective bundle, applies the metadata fix and re-checks clean', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.fill('[data-testid=model-dir]', modelDir);
    await page.click('[data-testid=step-tab-verify]');
    await page.fill('[data-testid=verify-bundle]', bundle);
    await page.click('[data-testid=verify-check-now]');

    await page.waitForSelector('[data-testid=fidelity-checklist][data-overall=fail]', { timeout: 60_000 });
    expect(await page.getAttribute('[data-testid="fidelity-item-stop-tokens.end-of-turn"]', 'data-status')).toBe('fail');
    expect(await page.getAttribute('[data-testid="fidelity-item-sampling.params"]', 'data-status')).toBe('fail');
    expect(await page.textContent('[data-testid="fidelity-item-stop-tokens.end-of-turn"]')).toContain('<|im_end|>');
    // The user is told where the fix writes before clicking: beside the bundle, which is kept.
    expect(await page.textContent('[data-testid=fidelity-fix-target]')).toContain(bundle.replace(/\.litertlm$/, '-fixed.litertlm'));
    await page.screenshot({ path: path.join(SHOTS, 'fidelity-before-fix.png'), fullPage: true });

    await page.click('[data-testid=fidelity-fix]');
    await page.waitForSelector('[data-testid=fidelity-checklist][data-overall=pass]', { timeout: 60_000 });
    const note = await page.textContent('[data-testid=verify-fixed]');
    expect(note).toContain(path.join(dir, 'device-fixed.litertlm'));
    expect(note).toContain('Every check passes now.');
    await page.screenshot({ path: path.join(SHOTS, 'fidelity-after-fix.png'), fullPage: true });
  });
});
