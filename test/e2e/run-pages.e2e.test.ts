/**
 * The run, compare and memory views after a run, in real headless Chromium
 * against serve mode (issue 13, items 5 and 7, and the UI parts of 17): a
 * finished stage's note is its outcome, not its last "… ETA" line; a user
 * cancel is a plain notice, not a red error; Compare matches stages by kind
 * and says what to do with nothing selected; an error's code is a detail,
 * never the headline; a run that overrode nothing shows no overrides; a wrong
 * serve token shows only that; the memory chart fits the run, with the
 * guard's levels one tick away and the legend showing current values.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../helpers/browser.js';
import { api, REPO_ROOT, waitFor, type ServeProcess } from '../helpers/serve.js';
import { writeQwenLikePair } from '../support/mergeSupport.js';

const DOC_SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let mergeRun: number;
let selftestRun: number;

async function finished(id: number, status: string): Promise<void> {
  await waitFor(async () => {
    const run = await api<{ status: string }>(server, 'runs.get', { id });
    if (!['queued', 'running', status].includes(run.status)) throw new Error(`run ${id} ended ${run.status}`);
    return run.status === status;
  }, `run ${id} ${status}`, 90_000);
}

async function openRun(id: number): Promise<void> {
  await page.evaluate((runId) => (window.location.hash = `#/runs/${runId}`), id);
  await page.waitForSelector(`[data-testid=run-detail]`);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'run-pages-e2e-'));
  mkdirSync(DOC_SHOTS, { recursive: true });
  // A 64 GiB host: the guard's levels sit far above what a 400 MiB self-test uses.
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 }, serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '64G' } } }));
  await page.goto(server.openUrl);
  await page.waitForSelector('[data-testid=runs-page]');
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('run pages', () => {
  it("shows a finished merge's outcome as its note, and no overrides for a run that overrode nothing", async () => {
    const { baseDir, adapterDir } = await writeQwenLikePair(path.join(dir, 'pair'));
    ({ id: mergeRun } = await api<{ id: number }>(server, 'runs.start', { plan: { name: 'merge', stages: [{ kind: 'merge', params: { baseDir, adapterDir, outDir: path.join(dir, 'merged'), threads: 1 } }] } }));
    await finished(mergeRun, 'succeeded');
    // The merge's preflight recorded its predicted peak with the run: a finding, not an override.
    expect((await api<{ overrides: Record<string, unknown> | null }>(server, 'runs.get', { id: mergeRun })).overrides).toHaveProperty('preflight');
    await openRun(mergeRun);
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]');
    const note = (await page.textContent('[data-testid=stage-note]')) ?? '';
    expect(note).toMatch(/^\d+ of \d+ tensors changed · .+ written in .+ · verified$/);
    expect(note).not.toMatch(/ETA/);
    expect(await page.locator('[data-testid=run-detail] .summary-grid .k', { hasText: 'Overrides' }).count()).toBe(0);
  }, 120_000);

  it('shows a cancel by the user as a notice, with where the stage stopped', async () => {
    ({ id: selftestRun } = await api<{ id: number }>(server, 'runs.start', { plan: { name: 'long self-test', stages: [{ kind: 'selftest', params: { durationSeconds: 60, logLines: 20 } }] } }));
    await openRun(selftestRun);
    await page.waitForSelector('[data-testid=stage][data-stage-status=running]');
    await page.waitForFunction(() => /[1-9]\d* %/.test(document.querySelector('[data-testid=stage-phase]')?.textContent ?? ''));
    await page.click('[data-testid=cancel-run]');
    await page.waitForSelector('[data-testid=run-detail][data-run-status=cancelled]', { timeout: 30_000 });
    await page.waitForSelector('[data-testid=run-cancelled]');
    expect(await page.textContent('[data-testid=run-cancelled]')).toContain('Cancelled by the user.');
    expect(await page.locator('[data-testid=run-detail] .error-box').count()).toBe(0);
    // Where the cancelled stage stopped, in the status's own word (renderer/src/pages/stageNote.ts), never "100 % (done)".
    expect(await page.textContent('[data-testid=stage-note]')).toMatch(/^Cancelled at \d+ %/);
  }, 60_000);

  it('compares stages by kind, and says what to do with nothing selected', async () => {
    await page.evaluate(([a, b]) => (window.location.hash = `#/compare?ids=${a},${b}`), [mergeRun, selftestRun]);
    await page.waitForSelector('[data-testid=compare-page] table');
    // "Only what differs" shows only rows that differ (issue 18, item 8), and says how many equal ones it hides.
    expect(await page.isChecked('[data-testid=only-differences]')).toBe(true);
    const flags = await page.$$eval('[data-testid=compare-row]', (rows) => rows.map((row) => row.getAttribute('data-differs')));
    expect(flags.length).toBeGreaterThan(0);
    expect(flags.filter((flag) => flag !== 'yes')).toEqual([]);
    expect(await page.textContent('[data-testid=compare-hidden]')).toMatch(/^\d+ rows? with the same value in every run hidden\.$/);
    await page.uncheck('[data-testid=only-differences]');
    expect(await page.locator('[data-testid=compare-row][data-differs=no]').count()).toBeGreaterThan(0);
    await page.check('[data-testid=only-differences]');
    // A run beside itself: nothing differs, so no row is shown (not its status, start and duration again).
    await page.evaluate((a) => (window.location.hash = `#/compare?ids=${a},${a}`), mergeRun);
    await page.waitForSelector('[data-testid=compare-hidden]:has-text("These runs are the same")');
    expect(await page.locator('[data-testid=compare-row]').count()).toBe(0);
    expect(await page.textContent('[data-testid=compare-hidden]')).toMatch(/^These runs are the same in everything compared: \d+ rows with the same value in every run hidden\.$/);
    await page.evaluate(([a, b]) => (window.location.hash = `#/compare?ids=${a},${b}`), [mergeRun, selftestRun]);
    await page.waitForSelector('[data-testid=compare-row][data-differs=yes]');
    await page.uncheck('[data-testid=only-differences]');
    const sections = await page.$$eval('.compare-section td', (cells) => cells.map((cell) => cell.textContent));
    expect(sections).toEqual(expect.arrayContaining(['LoRA merge', 'Self-test']));
    const mergeStatus = await page.$$eval('[data-testid=compare-row]', (rows) =>
      rows.filter((row) => row.querySelector('th')?.textContent === 'status').map((row) => [...row.querySelectorAll('td')].map((td) => td.textContent)),
    );
    // Run status, then the merge (absent from the self-test run), then the self-test (absent from the merge run).
    expect(mergeStatus).toEqual([
      ['succeeded', 'cancelled'],
      ['succeeded', 'not in this run'],
      ['not in this run', 'cancelled'],
    ]);

    await page.evaluate(() => (window.location.hash = '#/compare'));
    await page.waitForSelector('[data-testid=compare-empty]');
    expect(await page.textContent('[data-testid=compare-page]')).not.toMatch(/Something went wrong|usage/);
    expect(await page.locator('[data-testid=compare-page] .error-box').count()).toBe(0);
  }, 30_000);

  it("puts an error's sentence in the headline and its code in the detail", async () => {
    await page.evaluate(() => (window.location.hash = '#/runs/9999'));
    const box = page.locator('.error-box');
    await box.waitFor();
    expect(await box.locator('strong').textContent()).toBe('Run 9999');
    expect(await box.textContent()).toContain('Error code: run_not_found');
    expect(await page.textContent('main')).not.toContain('Something went wrong');
  });

  it('fits the memory chart to the run, shows current values, and shows the guard levels on request', async () => {
    const { id } = await api<{ id: number }>(server, 'runs.start', { plan: { name: 'memory', stages: [{ kind: 'selftest', params: { durationSeconds: 4, logLines: 10, allocateMiB: 400 } }] } });
    await finished(id, 'succeeded');
    await openRun(id);
    const chart = page.locator('[data-testid=memory-chart]');
    await chart.locator('canvas').waitFor();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=memory-chart]')?.getAttribute('data-y-max-bytes')) > 0);
    const warn = Number(await chart.getAttribute('data-warn-bytes'));
    const stop = Number(await chart.getAttribute('data-stop-bytes'));
    expect(Number(await chart.getAttribute('data-y-max-bytes'))).toBeLessThan(warn);
    // Without the cursor on the chart, the legend shows the latest values, in binary units
    // (filled in once the chart has drawn its data: wait for it, a busy machine draws later).
    await page.waitForFunction(() => /Stage RSS\s*[\d.]+ /.test(document.querySelector('[data-testid=memory-chart] .u-legend')?.textContent ?? ''));
    const legend = (await page.textContent('[data-testid=memory-chart] .u-legend')) ?? '';
    expect(legend).toMatch(/Stage RSS\s*[\d.]+ (B|KiB|MiB|GiB)/);
    expect(legend).toMatch(/System RAM in use\s*[\d.]+ (B|KiB|MiB|GiB)/);
    // A run without a conversion has no prediction: no "Predicted peak —" entry (issue 18, item 8), and the time axis is the run's.
    expect(legend).not.toContain('Predicted');
    expect(await page.textContent('[data-testid=memory-chart-caption]')).toContain('Time runs from the run’s first sample across all its stages');
    // The time ticks are drawn on the canvas; their labels are unit-tested in chartAxes.test.ts.
    await page.locator('[data-testid=memory-panel]').screenshot({ path: path.join(DOC_SHOTS, 'memory-chart.png') });

    await page.check('[data-testid=chart-levels]');
    await page.waitForFunction((level) => Number(document.querySelector('[data-testid=memory-chart]')?.getAttribute('data-y-max-bytes')) >= level, stop);
    expect(await page.textContent('[data-testid=memory-chart] .u-legend')).toMatch(/Stop level\s*57\.6 GiB/);
  }, 60_000);

  it('says only that the token is wrong when the link carries a wrong one', async () => {
    const stranger = await browser.newPage();
    await stranger.goto(`${server.url}#token=not-the-token`);
    await stranger.waitForSelector('[data-testid=unauthorized]');
    expect(await stranger.textContent('[data-testid=unauthorized]')).toMatch(/refused this tab’s token.*workbench serve.*paste it into this tab’s address bar/);
    const main = (await stranger.textContent('main')) ?? '';
    expect(main).not.toMatch(/No runs yet/);
    expect(await stranger.locator('[data-testid=runs-page]').count()).toBe(0);
    await stranger.close();
  });
});
