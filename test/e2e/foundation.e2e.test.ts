/**
 * End to end in real headless Chromium against serve mode, with a fresh data
 * directory: start a self-test and watch it progress, cancel a second run,
 * find both in Runs, search a log line, open the log viewer at that line.
 * Also: no token, no access.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 950 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function startSelftest(p: Page, seconds: number, lines: number): Promise<number> {
  await p.click('[data-testid=nav-new]');
  await p.click('[data-testid=selftest-card] summary');
  await p.fill('[data-testid=selftest-seconds]', String(seconds));
  await p.fill('[data-testid=selftest-lines]', String(lines));
  await p.click('[data-testid=start-selftest]');
  await p.waitForSelector('[data-testid=run-detail]');
  return Number(/#\/runs\/(\d+)/.exec(p.url())![1]);
}

describe('foundation in the browser', () => {
  it("explains a self-test value outside the stage's ranges and will not start with it", async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    // The New run page offers the demonstration (open: its button is in sight), with the command that runs it in a terminal.
    expect(await page.isVisible('[data-testid=demo-start]')).toBe(true);
    expect(await page.textContent('[data-testid=demo-card]')).toContain('npm run -s workbench -- demo --out workbench-demo');
    await page.click('[data-testid=selftest-card] summary');
    await page.fill('[data-testid=selftest-failat]', '150');
    expect(await page.textContent('[data-testid=selftest-card] .field.invalid .field-error')).toBe('A percentage from 0 to 100, or empty for never.');
    expect(await page.isDisabled('[data-testid=start-selftest]')).toBe(true);
    await page.fill('[data-testid=selftest-failat]', '');
    await page.fill('[data-testid=selftest-lines]', '2.5');
    expect(await page.textContent('[data-testid=selftest-card] .field.invalid .field-error')).toBe('A whole number from 0 to 2,000,000.');
    await page.fill('[data-testid=selftest-lines]', '400');
    expect(await page.isDisabled('[data-testid=start-selftest]')).toBe(false);
    await page.click('[data-testid=selftest-card] summary');
  });

  it('runs a self-test with live progress, cancels a second run, finds both, searches logs', async () => {
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid=runs-page]');
    // The list arrives after the page (connecting first): wait for it rather than read the page at once.
    await page.waitForFunction(() => (document.body.textContent ?? '').includes('No runs yet'));

    const first = await startSelftest(page, 5, 400);
    // Live progress: the stage shows a percentage while running.
    await page.waitForSelector('[data-testid=stage-phase]:has-text("%")');
    await page.screenshot({ path: path.join(SHOTS, 'foundation-running.png') });
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]', { timeout: 20_000 });
    expect(await page.textContent('[data-testid=log-count]')).toMatch(/4\d\d \/ 4\d\d lines/);

    const second = await startSelftest(page, 120, 100);
    await page.waitForSelector('[data-testid=cancel-run]');
    await page.waitForSelector('[data-testid=stage-phase]');
    await page.click('[data-testid=cancel-run]');
    await page.waitForSelector('[data-testid=run-detail][data-run-status=cancelled]', { timeout: 10_000 });
    // A cancelled run did not fail: it is resumed, not retried.
    expect(await page.textContent('[data-testid=retry-run]')).toBe('Resume from the unfinished stage');

    await page.click('[data-testid=nav-runs]');
    await page.waitForSelector(`[data-testid=run-row][data-run-id="${first}"]`);
    await page.waitForSelector(`[data-testid=run-row][data-run-id="${second}"]`);
    expect(await page.textContent(`[data-testid=run-row][data-run-id="${first}"]`)).toContain('succeeded');
    expect(await page.textContent(`[data-testid=run-row][data-run-id="${second}"]`)).toContain('cancelled');
    await page.click('[data-testid=filter-cancelled]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-row]').length === 1);
    await page.click('[data-testid=filter-all]');

    // Side by side: the succeeded and the cancelled run differ in status and duration.
    await page.check(`[data-testid=run-row][data-run-id="${first}"] [data-testid=select-run]`);
    await page.check(`[data-testid=run-row][data-run-id="${second}"] [data-testid=select-run]`);
    await page.click('[data-testid=compare-runs]');
    await page.waitForSelector('[data-testid=compare-page]');
    const statusRow = page.locator('[data-testid=compare-row]', { hasText: 'status' }).first();
    expect(await statusRow.getAttribute('data-differs')).toBe('yes');
    expect(await statusRow.textContent()).toMatch(/succeeded.*cancelled/);
    await page.screenshot({ path: path.join(SHOTS, 'foundation-compare.png'), fullPage: true });
    await page.click('[data-testid=nav-runs]');

    await page.fill('[data-testid=log-search]', 'log line 321');
    await page.waitForSelector('[data-testid=search-hit] mark');
    expect(await page.textContent('[data-testid=search-hits]')).toContain(`Run ${first}`);
    await page.screenshot({ path: path.join(SHOTS, 'foundation-search.png') });
    await page.click('[data-testid=search-hit]');
    await page.waitForSelector('[data-testid=log-viewer] .log-line.focused');
    expect(await page.textContent('[data-testid=log-viewer] .log-line.focused')).toContain('self-test log line 321 of 400');
    await page.screenshot({ path: path.join(SHOTS, 'foundation-log.png') });
  });

  it('keeps the log viewer virtualised on a run with 120,000 log lines', async () => {
    const id = await startSelftest(page, 2, 120_000);
    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]', { timeout: 60_000 });
    await page.waitForFunction(() => /120,0\d\d \/ 120,0\d\d lines$/.test(document.querySelector('[data-testid=log-count]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    // Only the visible rows (plus overscan) exist in the DOM.
    expect(await page.locator('[data-testid=log-viewer] .log-line').count()).toBeLessThan(200);
    // Jump to the end and filter: both answer on the full set.
    await page.evaluate(() => {
      const scroller = document.querySelector('.log-scroll')!;
      scroller.scrollTop = scroller.scrollHeight;
    });
    await page.waitForSelector('[data-testid=log-viewer] .log-line:has-text("self-test log line 120000 of 120000")');
    await page.fill('[data-testid=log-filter]', 'line 99999 ');
    await page.waitForFunction(() => (document.querySelector('[data-testid=log-count]')?.textContent ?? '').startsWith('1 /'));
    expect(id).toBeGreaterThan(0);
  }, 120_000);

  it('refuses the API without the token, over HTTP and WebSocket', async () => {
    const plain = await fetch(`${server.url}api/runs.list`, { method: 'POST', body: '{}' });
    expect(plain.status).toBe(401);
    const wrong = await fetch(`${server.url}api/runs.list`, { method: 'POST', body: '{}', headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const crossOrigin = await fetch(`${server.url}api/runs.list`, { method: 'POST', body: '{}', headers: { Authorization: `Bearer ${server.token}`, Origin: 'http://evil.example' } });
    expect(crossOrigin.status).toBe(403);
    const fresh = await browser.newPage();
    await fresh.goto(server.url);
    await fresh.waitForSelector('[data-testid=unauthorized]');
    await fresh.close();
  });
});
