/**
 * The wizard from a new user's seat, in real headless Chromium against serve
 * mode (issue 13, items 1–4 and the wizard's part of 17): an adapter whose
 * config names another base but fits the chosen one is a warning in step 1
 * and on the Review page, and the default path (merge → package → verify)
 * runs green; the Review page summarises each stage with its predicted peak
 * and time and lists every known problem with a link to the step that fixes
 * it, Start disabled while one blocks; the verification's context follows
 * step 3; a shorter context trims the default prefill lengths; path fields do
 * not complain while a path is typed and the base-model field does not offer
 * the adapter folder.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, REPO_ROOT, type ServeProcess } from '../helpers/serve.js';
import { writeQwenModelFolder } from '../support/fidelityModels.js';
import { writeQwenLikePair } from '../support/mergeSupport.js';
import { writeSyntheticTflite } from '../support/syntheticTflite.js';

const DOC_SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let baseDir: string;
let adapterDir: string;
let tflite: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wizard-review-e2e-'));
  // A base in a folder named anything, and an adapter whose config names the Hub model it was trained from.
  ({ baseDir, adapterDir } = await writeQwenLikePair(path.join(dir, 'models'), { baseName: 'my-base', adapterConfig: { base_model_name_or_path: 'Qwen/Qwen2.5-0.5B-Instruct' } }));
  writeQwenModelFolder(baseDir);
  tflite = path.join(dir, 'device.tflite');
  await writeSyntheticTflite(tflite, { kvCacheMaxLen: 4096 });
  mkdirSync(DOC_SHOTS, { recursive: true });
  // A host the size of the field report's, so every context up to 8192 fits the 1.5B config.
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 }, serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '128G' } } }));
  await page.goto(server.openUrl);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function freshWizard(p: Page): Promise<void> {
  await p.click('[data-testid=nav-new]');
  await p.click('text=Reset all choices');
  await p.click('[data-testid=step-tab-model]');
}

async function chooseModel(p: Page, withAdapter: boolean): Promise<void> {
  await p.fill('[data-testid=model-dir]', baseDir);
  if (withAdapter) await p.fill('[data-testid=adapter-dir]', adapterDir);
  // Leaving the field is when a path counts as typed.
  await p.click('[data-testid=step-model] h2');
  await p.waitForSelector('[data-testid=intake-result][data-ready=yes]', { timeout: 60_000 });
}

async function review(p: Page) {
  await p.click('[data-testid=step-tab-review]');
  // The review waits on the doctor (it probes Python) and the preflights: slow on a loaded machine.
  await p.waitForSelector('[data-testid=step-review][data-checked=yes]', { timeout: 90_000 });
  const problems = await p.$$eval('[data-testid=review-problem]', (items) => items.map((item) => ({ id: item.getAttribute('data-problem'), severity: item.getAttribute('data-severity'), text: item.textContent ?? '' })));
  return { problems, startDisabled: await p.isDisabled('[data-testid=start-run]') };
}

async function plan(p: Page): Promise<{ stages: { kind: string; params: Record<string, unknown> }[] }> {
  return JSON.parse((await p.textContent('[data-testid=plan-json]')) ?? '{}') as { stages: { kind: string; params: Record<string, unknown> }[] };
}

describe('wizard review and defaults', () => {
  it('merges an adapter that names another base with a warning, and the default path runs merge → package → verify green', async () => {
    await freshWizard(page);
    await chooseModel(page, true);
    const warning = page.locator('[data-testid=intake-problems] [data-code=adapter_base_name_differs]');
    expect(await warning.getAttribute('class')).toBe('banner');
    expect(await warning.textContent()).toMatch(/names "Qwen\/Qwen2\.5-0\.5B-Instruct" as its base.*so it merges/);
    await page.click('[data-testid=step-tab-convert]');
    await page.uncheck('[data-testid=convert-enabled]');
    await page.click('[data-testid=step-tab-package]');
    await page.fill('[data-testid=package-tflite]', tflite);

    const { problems, startDisabled } = await review(page);
    expect(startDisabled).toBe(false);
    expect(problems.filter((p) => p.severity === 'block')).toEqual([]);
    expect(problems.find((p) => p.id === 'intake_adapter_base_name_differs')?.severity).toBe('warn');
    // Each stage: what it reads and writes, predicted peak RAM and time.
    for (const kind of ['merge', 'package', 'verify']) {
      const card = page.locator(`[data-testid=review-stage-${kind}]`);
      expect(await card.locator('[data-testid=review-peak]').textContent()).toMatch(/Peak RAM [\d.]+ (MiB|GiB) \(up to [\d.]+ (MiB|GiB)\)/);
      expect(await card.locator('[data-testid=review-duration]').textContent()).toMatch(/Time [\d.]+ s/);
    }
    expect(await page.textContent('[data-testid=review-stage-merge]')).toContain(adapterDir);
    expect(await page.textContent('[data-testid=review-stage-package]')).toContain(tflite);
    // The JSON is one click away, not the page.
    expect(await page.isVisible('[data-testid=plan-json]')).toBe(false);
    await page.screenshot({ path: path.join(DOC_SHOTS, 'review-page.png'), fullPage: true });

    await page.click('[data-testid=start-run]');
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]', { timeout: 90_000 });
    const statuses = await page.$$eval('[data-testid=stage]', (items) => items.map((item) => item.getAttribute('data-stage-status')));
    expect(statuses).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const runId = Number(/#\/runs\/(\d+)/.exec(page.url())?.[1]);
    const { lines } = await api<{ lines: { level: string; text: string }[] }>(server, 'runs.logs', { id: runId, limit: 1000 });
    expect(lines.some((line) => line.level === 'warn' && line.text.includes('"Qwen/Qwen2.5-0.5B-Instruct"') && line.text.includes('so it merges'))).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-default-path-run.png'), fullPage: true });
  }, 150_000);

  it('blocks Start for every known problem, each with a link to the step that fixes it', async () => {
    await freshWizard(page);
    await chooseModel(page, false);
    await page.click('[data-testid=step-tab-convert]');
    // A Python route: its environment is not set up in a fresh data folder.
    await page.selectOption('[data-testid=route-select]', 'example');
    await page.fill('[data-testid=prefill-input]', '8, 8192');
    let { problems, startDisabled } = await review(page);
    expect(startDisabled).toBe(true);
    const ids = problems.filter((p) => p.severity === 'block').map((p) => p.id);
    // No conversion environment for the example route, and a prefill length longer than the context.
    expect(ids).toEqual(expect.arrayContaining(['python_env', 'convert_prefillSeqLens']));
    expect(await page.textContent('[data-testid=start-blocked]')).toMatch(/problems block the start/);
    await page.click('[data-problem=convert_prefillSeqLens] [data-testid=problem-link]');
    await page.waitForSelector('[data-testid=step-convert]');
    // The link lands on the field that fixes it, focused (issue 18, item 8).
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'prefill-input', undefined, { timeout: 10_000 });
    await page.fill('[data-testid=prefill-input]', '8, 128');
    await page.click('[data-testid=step-tab-review]');
    await page.waitForSelector('[data-problem=python_env] [data-testid=problem-link]', { timeout: 120_000 });
    await page.click('[data-problem=python_env] [data-testid=problem-link]');
    await page.waitForSelector('[data-testid=environment-page]');

    // Without a conversion the package step needs a .tflite that exists: a missing one blocks at Packaging.
    await page.click('[data-testid=nav-new]');
    await page.click('[data-testid=step-tab-convert]');
    await page.uncheck('[data-testid=convert-enabled]');
    await page.click('[data-testid=step-tab-package]');
    await page.fill('[data-testid=package-tflite]', path.join(dir, 'missing.tflite'));
    ({ problems, startDisabled } = await review(page));
    expect(startDisabled).toBe(true);
    const missing = problems.find((p) => p.severity === 'block' && p.text.includes('missing.tflite'));
    expect(missing?.text).toContain('Fix in step 4: Packaging');
    await page.click(`[data-problem="${missing!.id}"] [data-testid=problem-link]`);
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'package-tflite', undefined, { timeout: 10_000 });
    await page.screenshot({ path: path.join(SHOTS, 'review-blocked.png'), fullPage: true });
  }, 240_000);

  it('names every verification stage on the Review page, the behaviour check included, without "No estimate: No estimate" (issue 18, item 8)', async () => {
    await freshWizard(page);
    await chooseModel(page, false);
    await page.click('[data-testid=step-tab-convert]');
    await page.uncheck('[data-testid=convert-enabled]');
    await page.click('[data-testid=step-tab-package]');
    await page.fill('[data-testid=package-tflite]', tflite);
    await page.click('[data-testid=step-tab-verify]');
    await page.getByLabel(/Also compare outputs numerically/).check();
    await page.check('[data-testid=verify-behaviour]');
    await review(page);
    const card = page.locator('[data-testid=review-stage-evaluate]');
    expect(await card.locator('strong').first().textContent()).toBe('Behaviour check');
    const text = (await card.textContent()) ?? '';
    expect(text).not.toContain('No estimate: No estimate');
    expect(text).toMatch(/No estimate: the behaviour check’s memory is not modelled .*; the memory guard watches it\./);
    expect(text).toContain('Reference model, in PyTorch');
    expect(await page.locator('[data-testid=review-stage-verify]').count()).toBe(1);
    await page.screenshot({ path: path.join(DOC_SHOTS, 'review-verification.png'), fullPage: true });
  }, 150_000);

  it('verification checks the context chosen in step 3 unless the user typed one', async () => {
    await freshWizard(page);
    await chooseModel(page, false);
    await page.click('[data-testid=step-tab-convert]');
    await page.check('[data-testid=context-2048] input');
    await page.click('[data-testid=step-tab-verify]');
    expect(await page.inputValue('[data-testid=intended-context]')).toBe('2048');
    await page.click('[data-testid=step-tab-review]');
    expect((await plan(page)).stages.find((s) => s.kind === 'verify')?.params.intendedContext).toBe(2048);

    await page.click('[data-testid=step-tab-verify]');
    await page.fill('[data-testid=intended-context]', '3000');
    await page.click('[data-testid=step-tab-convert]');
    await page.check('[data-testid=context-1024] input');
    await page.click('[data-testid=step-tab-verify]');
    expect(await page.inputValue('[data-testid=intended-context]')).toBe('3000');
    await page.click('[data-testid=intended-context-follow]');
    expect(await page.inputValue('[data-testid=intended-context]')).toBe('1024');
  }, 120_000);

  it('trims the default prefill lengths to a shorter context, and shows a typed list that no longer fits at the field and in the plan', async () => {
    await freshWizard(page);
    await chooseModel(page, false);
    await page.click('[data-testid=step-tab-convert]');
    await page.check('[data-testid=context-512] input');
    await expect.poll(() => page.inputValue('[data-testid=prefill-input]')).toBe('8, 64, 128, 256, 512');
    expect(await page.textContent('[data-testid=prefill-trimmed]')).toContain('1024');
    await page.check('[data-testid=context-4096] input');
    await expect.poll(() => page.inputValue('[data-testid=prefill-input]')).toBe('8, 64, 128, 256, 512, 1024');

    await page.check('[data-testid=context-1024] input');
    await page.fill('[data-testid=prefill-input]', '8, 2048');
    expect(await page.textContent('[data-testid=step-convert] .field.invalid .field-error')).toContain('exceeds the context length (1024)');
    const { problems, startDisabled } = await review(page);
    expect(startDisabled).toBe(true);
    expect(problems.find((p) => p.id === 'convert_prefillSeqLens')?.severity).toBe('block');
    // The plan is what the field shows, not the last list that was valid.
    expect((await plan(page)).stages.find((s) => s.kind === 'convert')?.params.prefillSeqLens).toEqual([8, 2048]);
  }, 180_000);

  it('holds back "does not exist" while a path is typed, and the base-model field does not offer adapter folders', async () => {
    await freshWizard(page);
    const missing = path.join(dir, 'not-there-yet');
    await page.click('[data-testid=model-dir]');
    await page.keyboard.type(missing);
    await page.waitForSelector('[data-testid=intake-result][data-ready=no]', { state: 'attached' });
    expect(await page.locator('[data-code=model_not_found]').count()).toBe(0);
    await page.click('[data-testid=step-model] h2');
    await page.waitForSelector('[data-testid=intake-result] [data-code=model_not_found]');

    const parent = `${path.join(dir, 'models')}/`;
    await page.fill('[data-testid=model-dir]', '');
    await page.click('[data-testid=model-dir]');
    await page.keyboard.type(parent);
    await page.waitForSelector('[data-testid=model-dir-suggestions] [data-testid=path-suggestion]');
    const forModel = await page.$$eval('[data-testid=model-dir-suggestions] [data-testid=path-suggestion]', (items) => items.map((item) => item.getAttribute('data-path')));
    expect(forModel).toContain(baseDir);
    expect(forModel).not.toContain(adapterDir);
    // Close the list (it lies over the next field), then go on to the adapter field.
    await page.keyboard.press('Escape');
    await page.click('[data-testid=adapter-dir]');
    await page.keyboard.type(parent);
    await page.waitForSelector('[data-testid=adapter-dir-suggestions] [data-testid=path-suggestion]');
    const forAdapter = await page.$$eval('[data-testid=adapter-dir-suggestions] [data-testid=path-suggestion]', (items) => items.map((item) => item.getAttribute('data-path')));
    expect(forAdapter).toContain(adapterDir);
    expect(forAdapter).not.toContain(baseDir);
  }, 60_000);
});
