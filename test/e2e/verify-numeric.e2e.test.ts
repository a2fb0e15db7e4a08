/**
 * Issue 18, item 1, in real headless Chromium against serve mode: the wizard's
 * verification with "also compare outputs numerically" and the behaviour
 * check ticked, on a host without the comparison's Python packages. The
 * Review page warns (and says the run goes on); the run's verification
 * succeeds with the checklist, says on the run page that the numeric
 * comparison was skipped and why, and the behaviour check after it runs
 * instead of being skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { REPO_ROOT, type ServeProcess } from '../helpers/serve.js';
import { writeQwenModelFolder } from '../support/fidelityModels.js';
import { writeQwenLikePair } from '../support/mergeSupport.js';
import { writeSyntheticTflite } from '../support/syntheticTflite.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;
let tflite: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'verify-numeric-e2e-'));
  ({ baseDir: modelDir } = await writeQwenLikePair(path.join(dir, 'models'), { baseName: 'qwen' }));
  writeQwenModelFolder(modelDir);
  tflite = path.join(dir, 'device.tflite');
  await writeSyntheticTflite(tflite, { kvCacheMaxLen: 4096 });
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 }, serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '128G' } } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('verification with the numeric comparison on a host without its packages', () => {
  it('warns on the Review page, then the verification succeeds saying what it skipped and the behaviour check runs', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.fill('[data-testid=model-dir]', modelDir);
    await page.click('[data-testid=step-model] h2');
    await page.waitForSelector('[data-testid=intake-result]');
    await page.click('[data-testid=step-tab-convert]');
    await page.uncheck('[data-testid=convert-enabled]');
    await page.click('[data-testid=step-tab-package]');
    await page.fill('[data-testid=package-tflite]', tflite);
    await page.click('[data-testid=step-tab-verify]');
    await page.check('label:has-text("Also compare outputs numerically") input');
    await page.check('[data-testid=verify-behaviour]');

    await page.click('[data-testid=step-tab-review]');
    await page.waitForSelector('[data-testid=step-review][data-checked=yes]');
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', 'review-verification-options.png'), fullPage: true });
    // The verification's estimate is the checklist's: the numeric comparison will be skipped, so its GiB are not predicted.
    const verifyCard = page.locator('[data-testid=review-stage-verify]');
    expect(await verifyCard.locator('[data-testid=review-estimate-note]').textContent()).toBe('Checklist only: the numeric comparison is skipped until the Python environment is set up.');
    expect(await verifyCard.textContent()).not.toMatch(/GiB/);
    const blocking = await page.$$eval('[data-testid=review-problem][data-severity=block]', (items) => items.map((i) => i.textContent));
    expect(blocking).toEqual([]);
    expect(await page.isDisabled('[data-testid=start-run]')).toBe(false);

    await page.click('[data-testid=start-run]');
    await page.waitForSelector('[data-testid=run-detail]');
    // Wait until the verification has finished, whatever the behaviour check then does with this synthetic model.
    await page.waitForFunction(() => {
      const stages = [...document.querySelectorAll('[data-testid=stage]')].map((s) => s.getAttribute('data-stage-status'));
      return stages.length === 3 && !['pending', 'running'].includes(stages[1] ?? 'pending') && stages[2] !== 'pending';
    });
    const statuses = await page.$$eval('[data-testid=stage]', (items) => items.map((item) => item.getAttribute('data-stage-status')));
    expect(statuses[0]).toBe('succeeded');
    expect(statuses[1]).toBe('succeeded');
    expect(statuses[2]).not.toBe('skipped');
    const verifyNote = (await page.locator('[data-testid=stage]').nth(1).textContent()) ?? '';
    expect(verifyNote).toMatch(/numeric comparison skipped/);
    expect(verifyNote).not.toMatch(/100 %/);
    await page.waitForSelector('[data-testid=fidelity-numeric-skipped]');
    expect(await page.textContent('[data-testid=fidelity-numeric-skipped]')).toMatch(/Skipped \(the checklist above ran, and the run went on\): .+/);
    // No stage anywhere on the page reads as finished when it did not succeed.
    const notes = await page.$$eval('[data-testid=stage]:not([data-stage-status=succeeded]) [data-testid=stage-note]', (items) => items.map((i) => i.textContent ?? ''));
    for (const note of notes) expect(note).not.toMatch(/100 %|\(done\)/);
    await page.screenshot({ path: path.join(SHOTS, 'verify-numeric-skipped.png'), fullPage: true });
  }, 600_000);
});
