/**
 * Launches Debian's Chromium headless through playwright-core, with the
 * flags this sandboxed, offline machine needs (no background networking,
 * no sandbox as root). Playwright gives every launch a fresh temporary
 * profile, so no --user-data-dir is passed (it refuses one anyway).
 */
import { chromium, type Browser } from 'playwright-core';

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
