/**
 * Launches Debian's Chromium headless through playwright-core, with the
 * flags this sandboxed, offline machine needs (no background networking,
 * no sandbox as root). Playwright gives every launch a fresh temporary
 * profile, so no --user-data-dir is passed (it refuses one anyway).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT, startServe, type ServeProcess, type StartServeOptions } from './serve.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

/** Where end-to-end tests leave screenshots for a person to look at. */
export const SHOTS = path.join(REPO_ROOT, 'test-results');

export interface OpenApp {
  server: ServeProcess;
  browser: Browser;
  page: Page;
}

/**
 * Serve mode with a fresh data directory plus a Chromium page, page errors
 * reported on the test's console: the start of every end-to-end test.
 */
export async function openApp(options: { serve?: StartServeOptions; viewport?: { width: number; height: number } } = {}): Promise<OpenApp> {
  mkdirSync(SHOTS, { recursive: true });
  const server = await startServe(options.serve);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1400, height: 1000 } });
  // Generous waits: a busy machine (npm run test:stress) makes pages slower, not wrong.
  page.setDefaultTimeout(120_000);
  page.on('pageerror', (error) => console.error('page error:', error.message));
  return { server, browser, page };
}
