/**
 * The Try page in real headless Chromium against serve mode: chat with a
 * bundle the native converter wrote (tiny random-weight Qwen2, real Qwen
 * tokenizer) in LiteRT-LM's own engine: streamed answer, the rendered prompt
 * text, timings and why it stopped; greedy override twice gives the same
 * text (independent check: the CLI's greedy answer for the same prompt);
 * then the fixture bundle without LlmMetadata: the engine aborts, the page
 * says why in one sentence, and the first bundle still answers afterwards.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { CLI, REPO_ROOT, type ServeProcess } from '../helpers/serve.js';
import { writeRunnableBundle } from '../support/runnableBundle.js';

const FIXTURE = '/work/shared/fixtures/litertlm/test_hf_tokenizer.litertlm';
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'try-e2e-'));
  ({ bundle } = await writeRunnableBundle(dir, { kv: 128, prefill: [8, 32] }));
  ({ server, browser, page } = await openApp({ viewport: { width: 1300, height: 1000 } }));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function openBundle(p: Page, file: string): Promise<void> {
  await p.fill('[data-testid=try-bundle]', file);
  await p.click('[data-testid=try-open]');
  await p.waitForSelector('[data-testid=try-chat]');
}

async function send(p: Page, text: string, index: number): Promise<void> {
  await p.fill('[data-testid=try-input]', text);
  await p.click('[data-testid=try-send]');
  await p.waitForSelector(`[data-testid=try-turn-${index}]:not([data-state=streaming])`, { timeout: 120_000 });
}

describe('Try page', () => {
  it('chats with a converted bundle, shows the prompt, timings and stop reason; survives an engine abort', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-try]');
    await openBundle(page, bundle);
    await page.waitForSelector('[data-testid=try-info][data-fits=true]');
    expect(await page.textContent('[data-testid=try-info]')).toContain('<|im_end|>');

    await page.click('[data-testid=try-overrides] summary');
    await page.check('[data-testid=try-greedy]');
    await page.fill('[data-testid=try-max-tokens]', '6');
    await page.check('[data-testid=try-show-prompt]');
    await send(page, 'Hello there', 0);
    const stats = page.locator('[data-testid=try-stats-0]');
    expect(await stats.getAttribute('data-stop')).toBe('max-tokens');
    expect(await stats.textContent()).toMatch(/6 tokens after a 10-token prompt · first token \d+\.\d+ s · prefill \d+\.\d tok\/s · decode \d+\.\d tok\/s · engine load/);
    expect(await page.textContent('[data-testid=try-prompt-0]')).toBe('<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n');
    const answer = (await page.textContent('[data-testid=try-answer-0]'))!;
    expect(answer.length).toBeGreaterThan(0);

    // The CLI, through its own engine process, gives the same greedy answer.
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, '--data-dir', server.dataDir, 'chat', '--bundle', bundle, '--prompt', 'Hello there', '--greedy', '--max-tokens', '6', '--json']);
    expect(JSON.parse(stdout).text).toBe(answer);
    await page.screenshot({ path: path.join(SHOTS, 'try-chat.png'), fullPage: true });

    await openBundle(page, FIXTURE);
    await page.waitForSelector('[data-testid=try-problems]');
    expect(await page.textContent('[data-testid=try-problems]')).toContain('has no LlmMetadata section; LiteRT-LM 0.17.1 aborts loading such a bundle.');
    await send(page, 'hi', 0);
    expect(await page.textContent('[data-testid=try-turn-0]')).toContain('The engine aborted loading test_hf_tokenizer.litertlm: the bundle has no LlmMetadata section, which LiteRT-LM 0.17.1 requires.');
    await page.screenshot({ path: path.join(SHOTS, 'try-abort.png'), fullPage: true });

    // The engine host started a fresh engine: the first bundle answers again.
    await openBundle(page, bundle);
    await send(page, 'Hello there', 0);
    expect(await page.getAttribute('[data-testid=try-stats-0]', 'data-stop')).toBe('max-tokens');
  }, 300_000);

  it('says what happens while the engine loads, with the time so far; Stop ends the load; overrides say what they do; opening another bundle starts a new conversation (issue 18, item 5)', async () => {
    // Another file: the engine has to load it (the first bundle's engine is open).
    const copy = path.join(dir, 'copy.litertlm');
    copyFileSync(bundle, copy);
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-try]');
    await openBundle(page, copy);
    await page.waitForSelector('[data-testid=try-info]');
    await page.click('[data-testid=try-overrides] summary');

    // Overrides, bound to their labels: temperature over the bundle's k = 1 shows the top-k that will be used.
    await page.getByLabel('Temperature').fill('0.7');
    expect(await page.getByLabel('Top-k').getAttribute('placeholder')).toBe('40');
    expect(await page.textContent('[data-testid=try-overrides-help]')).toContain("Top-k 40 will be used: the bundle's k = 1 is greedy");
    await page.getByLabel('Top-k').fill('5');
    expect(await page.textContent('[data-testid=try-overrides-help]')).not.toContain('Top-k 40');
    await page.getByLabel('Top-k').fill('');
    await page.getByLabel('Temperature').fill('');
    // Empty max tokens means the bundle's metadata, as the overrides' title says: up to its context.
    await page.getByLabel('Max tokens').fill('');
    expect(await page.textContent('[data-testid=try-overrides-help]')).toContain("no cap of its own; the answer ends at a stop token or when the bundle's context (128 tokens) is full");
    expect(await page.locator('[data-testid=try-send]').isDisabled()).toBe(true); // no message yet, but no error either
    expect(await page.locator('.error-text').count()).toBe(0);
    await page.getByLabel('Max tokens').fill('4');
    await page.check('[data-testid=try-greedy]');

    // Send: the engine loads; the page says so, with the seconds so far, and Stop is there.
    await page.getByLabel('Message').fill('Hello there');
    await page.click('[data-testid=try-send]');
    const status = page.locator('[data-testid=try-status-0][data-phase=loading]');
    await status.waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => /^[1-9]\d* s$/.test(document.querySelector('[data-testid=try-status-0] [data-testid=try-elapsed]')?.textContent ?? ''), undefined, { timeout: 120_000 });
    expect(await status.textContent()).toMatch(/^Loading copy\.litertlm \([\d.]+ MiB\) into LiteRT-LM's engine \(wasm, CPU\); a first load takes a while\. Stop ends the load\.\d+ s$/);
    mkdirSync(path.join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', 'try-loading.png') });
    await page.click('[data-testid=try-stop]');
    await page.waitForSelector('[data-testid=try-turn-0][data-state=done]', { timeout: 120_000 });
    expect(await page.textContent('[data-testid=try-stats-0]')).toContain('stopped while the engine was loading the bundle');
    expect(await page.getAttribute('[data-testid=try-stats-0]', 'data-stop')).toBe('cancelled');
    expect(await page.locator('[data-testid=try-stop]').count()).toBe(0);

    // Send again, and open the other bundle while it runs: a new, empty conversation; the old request is stopped.
    await page.getByLabel('Message').fill('Hello again');
    await page.click('[data-testid=try-send]');
    await page.waitForSelector('[data-testid=try-status-1]');
    await openBundle(page, bundle);
    expect(await page.locator('[data-testid^=try-turn-]').count()).toBe(0);
    await send(page, 'Hello there', 0);
    expect(await page.getAttribute('[data-testid=try-stats-0]', 'data-stop')).toBe('max-tokens');
  }, 600_000);
});
