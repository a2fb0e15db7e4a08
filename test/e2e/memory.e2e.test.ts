/**
 * Memory in the browser, against real serve mode with a fresh data folder:
 * the live chart draws with its threshold lines while a stage allocates, and
 * a guard stop appears on the run's page with its figures. The server runs
 * with WORKBENCH_SIMULATE_HOST_RAM=2G so the guard trips at the same point on
 * any machine.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';

/** Every wait polls for its condition up to this long: generous, so a busy machine (test:stress) slows the test but never fails it. */
const LIMIT = 180_000;

let server: ServeProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ server, browser, page } = await openApp({ serve: { env: { WORKBENCH_SIMULATE_HOST_RAM: '2G' } }, viewport: { width: 1400, height: 1000 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function startSelftest(p: Page, seconds: number, allocateMiB: number): Promise<void> {
  await p.click('[data-testid=nav-new]');
  await p.click('[data-testid=selftest-card] summary');
  await p.fill('[data-testid=selftest-seconds]', String(seconds));
  await p.fill('[data-testid=selftest-lines]', '20');
  await p.fill('[data-testid=selftest-allocate]', String(allocateMiB));
  await p.click('[data-testid=start-selftest]');
  await p.waitForSelector('[data-testid=run-detail]');
}

describe('memory in the browser', () => {
  it('draws the live chart with threshold lines, then shows a guard stop on the run page', async () => {
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid=runs-page]');

    // 400 MiB over 8 s on a simulated 2 GB host: under every threshold.
    await startSelftest(page, 8, 400);
    await page.waitForSelector('[data-testid=memory-chart] canvas');
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=memory-chart]')?.getAttribute('data-samples')) >= 3, undefined, { timeout: LIMIT });
    const chart = page.locator('[data-testid=memory-chart]');
    // Lines at 75 % and 90 % of the simulated 2 GiB.
    expect(Number(await chart.getAttribute('data-stop-bytes'))).toBe(Math.round(2 * 1024 ** 3 * 0.9));
    expect(Number(await chart.getAttribute('data-warn-bytes'))).toBe(Math.round(2 * 1024 ** 3 * 0.75));
    const legend = await page.textContent('[data-testid=memory-chart] .u-legend');
    expect(legend).toContain('Stop level');
    expect(legend).toContain('Warn level');
    expect(legend).toContain('Stage RSS');
    await page.screenshot({ path: path.join(SHOTS, 'memory-live-chart.png') });
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]', { timeout: LIMIT });

    // 1800 MiB over 20 s: available falls under the 1 GiB floor about 9 s before the allocation
    // completes, time for the guard's consecutive samples even when a busy machine delays them.
    await startSelftest(page, 20, 1800);
    await page.waitForSelector('[data-testid=run-detail][data-run-status=stopped_by_guard]', { timeout: LIMIT });
    const stop = await page.textContent('[data-testid=run-detail]');
    expect(stop).toMatch(/Stopped by the memory guard: available RAM fell to .* \(floor 1\.0 GiB\)/);
    // The chart stays on the page after the run, from the stored samples.
    await page.reload();
    await page.waitForSelector('[data-testid=memory-chart] canvas', { timeout: LIMIT });
    expect(Number(await chart.getAttribute('data-samples'))).toBeGreaterThan(3);
    await page.screenshot({ path: path.join(SHOTS, 'memory-guard-stop.png') });
  }, 600_000);
});
