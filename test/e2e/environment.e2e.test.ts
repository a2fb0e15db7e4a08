/**
 * The Environment page in real headless Chromium against serve mode (issue
 * 13, item 8): one set-up action (route, "start from scratch"), not a button
 * per problem plus two more; a failed setup shown once — in its own box, not
 * again as the last log line beside it nor as the doctor's "not set up"
 * problems it implies. The package index is a closed local port, so the
 * setup fails in seconds on any machine.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { REPO_ROOT, waitFor, type ServeProcess } from '../helpers/serve.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  const closedIndex = 'http://127.0.0.1:9/simple';
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 }, serve: { env: { PIP_INDEX_URL: closedIndex, UV_INDEX_URL: closedIndex, UV_DEFAULT_INDEX: closedIndex, PIP_RETRIES: '0' } } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('Environment page', () => {
  it('says per capability what can run: native ready without Python, the reference with its Python and torch, the Python routes with their one action', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-environment]');
    await page.waitForSelector('[data-testid=capabilities]');
    expect(await page.getAttribute('[data-capability=native]', 'data-ready')).toBe('true');
    expect(await page.textContent('[data-capability=native]')).toContain('no Python needed');
    const reference = (await page.textContent('[data-capability=reference]')) ?? '';
    if ((await page.getAttribute('[data-capability=reference]', 'data-ready')) === 'true') {
      expect(reference).toMatch(/\S+ \(Python 3\.\d+\.\d+\) with torch \S+\./);
    } else {
      expect(reference).toMatch(/torch|Python/);
    }
    expect(await page.getAttribute('[data-capability=python_routes]', 'data-ready')).toBe('false');
    expect(await page.textContent('[data-capability=python_routes]')).toContain('workbench doctor --bootstrap example');
    const text = (await page.textContent('[data-testid=doctor]')) ?? '';
    expect(text).not.toMatch(/conversions cannot run/i);
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', 'environment.png'), fullPage: true });
  }, 180_000);

  it('offers one set-up action and shows a failed setup once', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-environment]');
    await page.waitForSelector('[data-capability=python_routes][data-ready=false]');
    const setupButtons = page.locator('[data-testid=doctor] button', { hasText: /set up|rebuild|install/i });
    expect(await setupButtons.count()).toBe(1);
    expect(await page.textContent('[data-capability=python_routes]')).toContain('workbench doctor --bootstrap example');

    await page.click('[data-testid=bootstrap-start]');
    await page.waitForSelector('[data-testid=bootstrap-progress] [data-status=failed]', { timeout: 150_000 });
    const failure = page.locator('[data-testid=bootstrap-progress] .error-box');
    await failure.waitFor();
    const message = ((await failure.locator('p').first().textContent()) ?? '').trim();
    expect(message.length).toBeGreaterThan(10);
    // The doctor re-checks after the setup ends; its "not set up / never finished" problems would repeat the failure.
    await page.waitForSelector('[data-testid=doctor] button:has-text("Check again"):not([disabled])');
    const text = (await page.textContent('[data-testid=doctor]')) ?? '';
    expect(text.split(message).length - 1).toBe(1);
    expect(await page.locator('[data-problem=no_env], [data-problem=env_unfinished]').count()).toBe(0);
    expect(await setupButtons.count()).toBe(1);
    // What the doctor now suggests (start from scratch) is preselected on the one action.
    expect(await page.isChecked('[data-testid=bootstrap-rebuild]')).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'environment-setup-failed.png'), fullPage: true });

    // "Check again" asks the server to probe every interpreter anew, not to repeat the last seconds' answers.
    // The API goes over the page's WebSocket: watch what it sends from a fresh load of the page.
    const sent: string[] = [];
    page.on('websocket', (socket) => socket.on('framesent', (frame) => sent.push(String(frame.payload))));
    await page.reload();
    await page.waitForSelector('[data-testid=doctor] button:has-text("Check again"):not([disabled])');
    expect(sent.filter((f) => f.includes('env.doctor') && f.includes('"fresh":true'))).toHaveLength(0);
    await page.click('[data-testid=doctor] button:has-text("Check again")');
    await waitFor(async () => sent.some((f) => f.includes('env.doctor') && f.includes('"fresh":true')), 'the doctor asked with fresh: true');
    await page.waitForSelector('[data-testid=doctor] button:has-text("Check again"):not([disabled])');
    expect(await page.textContent('[data-capability=reference]')).toMatch(/ready|not ready/);
  }, 180_000);
});
