/**
 * Issue 18, item 4: a restarted server works in the open tab. A real serve
 * process is stopped and started again on the same port (a new token, as
 * every start prints); the open Chromium tab first says exactly what to do,
 * then picks up the new token when the new `#token=` URL is pasted into it
 * (a fragment change, no page load), and keeps it across navigation and a
 * reload.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, SHOTS } from '../helpers/browser.js';
import { freshDataDir, startServe, type ServeProcess } from '../helpers/serve.js';

let server: ServeProcess | undefined;
let browser: Browser;
let page: Page;
const dataDir = freshDataDir('wb-token');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1300, height: 800 } });
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('a restarted server in the open tab', () => {
  it('says what to do, takes the pasted new URL, and keeps its token across navigation and reloads', async () => {
    const port = await freePort();
    server = await startServe({ dataDir, args: ['--port', String(port)] });
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid=runs-page]');

    // Navigate, reload: the token survives (it is not in the URL any more).
    await page.click('[data-testid=nav-environment]');
    await page.reload();
    await page.waitForSelector('[data-testid=nav-environment].active');
    expect(await page.locator('[data-testid=unauthorized]').count()).toBe(0);

    // Restart: same port, new token.
    const oldUrl = server.openUrl;
    await server.stop();
    server = await startServe({ dataDir, args: ['--port', String(port)] });
    expect(server.openUrl).not.toBe(oldUrl);
    const refusal = page.locator('[data-testid=unauthorized]');
    await refusal.waitFor({ timeout: 120_000 });
    const text = (await refusal.textContent()) ?? '';
    expect(text).toContain('workbench serve');
    expect(text).toContain('serving at');
    expect(text).toMatch(/paste it into this tab’s address bar/i);
    await page.screenshot({ path: path.join(SHOTS, 'token-refused.png') });

    // Paste the new URL into this tab: only the fragment changes, so the page is not loaded again.
    const marker = await page.evaluate(() => ((window as unknown as { __sameDocument: number }).__sameDocument = 42));
    await page.goto(server.openUrl);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: number }).__sameDocument)).toBe(marker);
    await page.waitForSelector('[data-testid=runs-page]', { timeout: 120_000 });
    expect(await refusal.count()).toBe(0);
    expect(page.url()).not.toContain('token=');

    // Navigate, then reload: still the new token.
    await page.click('[data-testid=nav-settings]');
    await page.reload();
    await page.waitForSelector('[data-testid=nav-settings].active');
    await page.click('[data-testid=nav-runs]');
    await page.waitForSelector('[data-testid=runs-page]', { timeout: 120_000 });
    expect(await refusal.count()).toBe(0);
  }, 300_000);
});
