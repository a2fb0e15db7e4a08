/**
 * Issue 18, item 7, in real headless Chromium against serve mode: "Run again"
 * on a run that merged. The merge refuses to write over its previous output
 * (merge_output_exists); the run page then offers to run again into a new
 * folder, which starts a run that merges beside the old folder and leaves
 * the old one untouched.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../main/common/runs.js';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, waitFor, type ServeProcess } from '../helpers/serve.js';
import { writeQwenLikePair } from '../support/mergeSupport.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;

async function finished(id: number): Promise<RunDetail> {
  return waitFor(async () => {
    const run = await api<RunDetail>(server, 'runs.get', { id });
    return ['queued', 'running'].includes(run.status) ? null : run;
  }, `run ${id} to finish`, 300_000, 250);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rerun-merge-e2e-'));
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 }, serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '64G' } } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Run again on a run that merged', () => {
  it('offers a new output folder, and the new run merges there, keeping the old result', async () => {
    const { baseDir, adapterDir } = await writeQwenLikePair(path.join(dir, 'models'));
    const merged = path.join(dir, 'merged');
    const { id: first } = await api<{ id: number }>(server, 'runs.start', { plan: { name: 'merge', stages: [{ kind: 'merge', params: { baseDir, adapterDir, outDir: merged, threads: 1 } }] } });
    expect((await finished(first)).status).toBe('succeeded');
    const before = Object.fromEntries(readdirSync(merged).map((f) => [f, statSync(path.join(merged, f)).mtimeMs]));

    await page.goto(server.openUrl);
    await page.evaluate((runId) => (window.location.hash = `#/runs/${runId}`), first);
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]');
    await page.click('[data-testid=rerun]');
    await page.waitForSelector('[data-testid=rerun-choice]');
    expect(await page.textContent('[data-testid=rerun-choice]')).toContain(`The output folder ${merged} already exists and is not empty`);
    await page.screenshot({ path: path.join(SHOTS, 'rerun-merge-choice.png'), fullPage: true });
    await page.click('[data-testid=rerun-new-outputs]');

    await page.waitForFunction((old) => !window.location.hash.endsWith(`/runs/${old}`) && /#\/runs\/\d+/.test(window.location.hash), first);
    const second = Number(/#\/runs\/(\d+)/.exec(page.url())?.[1]);
    expect(second).toBeGreaterThan(first);
    const run = await finished(second);
    expect(run.status).toBe('succeeded');
    expect(run.parentRunId).toBe(first);
    expect(run.plan.stages[0]!.params).toMatchObject({ outDir: `${merged}-2` });
    expect(existsSync(path.join(`${merged}-2`, 'config.json'))).toBe(true);
    // The old result is untouched.
    expect(Object.fromEntries(readdirSync(merged).map((f) => [f, statSync(path.join(merged, f)).mtimeMs]))).toEqual(before);
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]');
  }, 600_000);
});
