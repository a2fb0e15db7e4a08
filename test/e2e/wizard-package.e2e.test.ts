/**
 * The wizard's packaging step: the metadata derived from the model's own
 * files is shown before anything runs, an edited field becomes an override in
 * the plan, and the review shows the whole plan the run will execute. The
 * package and verify stages name files the conversion will write, which must
 * not count as problems; the one that remains is the folder's missing weights
 * (the default native route needs no Python environment), so Start stays
 * disabled. Started anyway (through the API, as `workbench run --plan`
 * would), the conversion stops at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, type ServeProcess } from '../helpers/serve.js';
import { makeModel, qwenConfig } from '../support/hfModel.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'package-step-e2e-'));
  // A deep folder, so the conversion's error names a path longer than the log is wide.
  modelDir = await makeModel(path.join(dir, 'models-kept-in-a-folder-with-a-long-descriptive-name-as-teams-do', 'Qwen2.5-1.5B-Instruct'), { ...qwenConfig(1536, 28, 8960, 12, 2, 151936, true), bos_token_id: null }, null, true);
  // A host the size of the field report's, so the memory block does not refuse a 1.5B conversion at 4096.
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1100 }, serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '128G' } } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('wizard packaging step', () => {
  it('shows the derived metadata and carries an edit into the plan', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.fill('[data-testid=model-dir]', modelDir);
    await page.click('[data-testid=step-tab-package]');
    await page.waitForSelector('[data-testid=metadata-editor] [data-testid=meta-stop]', { timeout: 30_000 });
    const stop = await page.inputValue('[data-testid=meta-stop]');
    expect(stop).toContain('151645');
    // An id past the vocabulary is explained at the field before anything runs.
    await page.fill('[data-testid=meta-stop]', '151645, 999999999');
    await page.press('[data-testid=meta-stop]', 'Enter');
    expect(await page.textContent('[data-testid=meta-invalid] .field-error')).toBe('Stop token 2: id 999999999 is past the end of the vocabulary (151,669 tokens, ids 0 to 151,668).');
    await page.fill('[data-testid=meta-stop]', '151645, 151643, 198');
    await page.press('[data-testid=meta-stop]', 'Enter');
    expect(await page.locator('[data-testid=meta-invalid]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-package.png'), fullPage: true });
    await page.click('[data-testid=step-tab-review]');
    const plan = JSON.parse((await page.textContent('[data-testid=plan-json]')) ?? '{}') as { stages: { kind: string; params: Record<string, unknown> }[] };
    const packageStage = plan.stages.find((stage) => stage.kind === 'package');
    expect(packageStage?.params.metadataOverrides).toMatchObject({ stopTokens: expect.arrayContaining([expect.anything()]) });
    expect(JSON.stringify(packageStage?.params.metadataOverrides)).toContain('198');
    expect(plan.stages.map((stage) => stage.kind)).toEqual(['convert', 'package', 'verify']);

    await page.waitForSelector('[data-testid=step-review][data-checked=yes]', { timeout: 30_000 });
    const blocking = await page.$$eval('[data-testid=review-problem][data-severity=block]', (items) => items.map((item) => item.getAttribute('data-problem')));
    // This folder has no weights; the files later stages will read are no problem, and the native route needs no Python.
    expect(blocking.sort()).toEqual(['intake_missing_weights']);
    expect(await page.locator('[data-testid=review-problem] [data-place=package], [data-testid=review-problem] [data-place=verify]').count()).toBe(0);
    expect(await page.isDisabled('[data-testid=start-run]')).toBe(true);
    const { id } = await api<{ id: number }>(server, 'runs.start', { plan });
    await page.evaluate((runId) => (window.location.hash = `#/runs/${runId}`), id);
    await page.waitForSelector('[data-testid=run-detail][data-run-status=failed]', { timeout: 30_000 });
    const stages = await page.$$eval('[data-testid=stage]', (items) => items.map((item) => item.getAttribute('data-stage-status')));
    expect(stages).toEqual(['failed', 'skipped', 'skipped']);
    // The conversion's error is longer than the log is wide: one row, cut, until opened or wrapped.
    const errorLine = page.locator('[data-testid=log-viewer] .log-line.level-error').first();
    await errorLine.waitFor();
    expect((await errorLine.boundingBox())!.height).toBe(20);
    expect(await errorLine.locator('.log-text').getAttribute('title')).toContain('holds neither model.safetensors nor model.safetensors.index.json');
    await errorLine.click();
    await expect.poll(async () => (await errorLine.boundingBox())!.height).toBeGreaterThan(20);
    await errorLine.click();
    await expect.poll(async () => (await errorLine.boundingBox())!.height).toBe(20);
    await page.check('[data-testid=log-wrap]');
    await expect.poll(async () => (await errorLine.boundingBox())!.height).toBeGreaterThan(20);
    await page.screenshot({ path: path.join(SHOTS, 'wizard-started-run.png'), fullPage: true });
  }, 90_000);
});
