/**
 * Issue 18, item 8: every form control has a label bound to it (a <label
 * for>, a wrapping <label>, or aria-label), so screen readers name it and
 * Playwright's getByLabel finds it. Walks the pages and every wizard step in
 * real headless Chromium against serve mode and lists the controls that
 * have none.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp } from '../helpers/browser.js';
import type { ServeProcess } from '../helpers/serve.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  ({ server, browser, page } = await openApp());
  await page.goto(server.openUrl);
  await page.waitForSelector('[data-testid=runs-page]');
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Visible inputs, selects and textareas with no accessible name from a label or aria attribute. */
async function unlabelled(p: Page, where: string): Promise<string[]> {
  const found = await p.$$eval('input:not([type=hidden]), select, textarea', (elements) =>
    elements
      .filter((el) => (el as HTMLElement).offsetParent !== null)
      .filter((el) => {
        const control = el as HTMLInputElement;
        const labelled = (control.labels?.length ?? 0) > 0 && [...control.labels!].some((label) => (label.textContent ?? '').trim().length > 0);
        return !labelled && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby');
      })
      .map((el) => `${el.tagName.toLowerCase()}[data-testid=${el.getAttribute('data-testid') ?? '?'}] placeholder=${el.getAttribute('placeholder') ?? ''}`),
  );
  return found.map((item) => `${where}: ${item}`);
}

describe('form labels', () => {
  it('binds a label to every control of every page and wizard step', async () => {
    const missing: string[] = [];
    for (const nav of ['runs', 'inspect', 'try', 'environment', 'settings']) {
      await page.click(`[data-testid=nav-${nav}]`);
      await page.waitForTimeout(300);
      missing.push(...(await unlabelled(page, nav)));
    }
    await page.click('[data-testid=nav-new]');
    await page.click('[data-testid=selftest-card] summary');
    for (const step of ['model', 'merge', 'convert', 'package', 'verify', 'review']) {
      await page.click(`[data-testid=step-tab-${step}]`);
      await page.waitForTimeout(300);
      missing.push(...(await unlabelled(page, `new run, step ${step}`)));
    }
    expect(missing).toEqual([]);
    // The ones a user names most, found by their labels.
    await page.click('[data-testid=step-tab-model]');
    expect(await page.getByLabel('Run name (optional)').count()).toBe(1);
    expect(await page.getByLabel('Base model folder').count()).toBe(1);
    expect(await page.getByLabel('LoRA adapter folder (optional)').count()).toBe(1);
  }, 120_000);
});
