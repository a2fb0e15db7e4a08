/**
 * Serve mode's path picking end to end, in real headless Chromium against
 * the real built server: browse to a generated model folder and select it,
 * complete a path while typing, see `..` tricks refused, and find the picked
 * folders offered again in a fresh browser. Over the HTTP
 * API: recent folders, and a server running as an unprivileged user refusing
 * a folder that user cannot read.
 */
import { execa } from 'execa';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, CLI, type ServeProcess } from '../helpers/serve.js';

let server: ServeProcess;
let browser: Browser;
let page: Page;
let workspace: string;
let modelDir: string;

/** A Hugging Face-layout folder: what a user would pick as the base model. */
function generateModelFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 128, vocab_size: 256, max_position_embeddings: 512, torch_dtype: 'float32' }));
  writeFileSync(path.join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2 }));
  writeFileSync(path.join(dir, 'model.safetensors'), Buffer.alloc(4096));
}

beforeAll(async () => {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'wb-pick-'));
  modelDir = path.join(workspace, 'models', 'qwen2.5-tiny');
  generateModelFolder(modelDir);
  mkdirSync(path.join(workspace, 'models', 'my-lora'));
  mkdirSync(path.join(workspace, 'outputs'));
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 950 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

describe('serve-mode folder browser in the browser', () => {
  it('picks a generated model folder by browsing, completes while typing, refuses .. tricks', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.waitForSelector('[data-testid=model-dir]');

    await page.click('[data-testid=model-dir-browse]');
    await page.waitForSelector('[data-testid=folder-browser]');
    // Opens at home for an empty field.
    await page.waitForSelector(`[data-testid=fb-list][data-path="${os.homedir()}"]`);

    await page.fill('[data-testid=fb-path]', `${workspace}/models/../../etc`);
    await page.click('[data-testid=fb-go]');
    await page.waitForSelector('[data-testid=fb-error][data-code=path_traversal]');
    expect(await page.textContent('[data-testid=fb-error]')).toContain('contains ".."');

    await page.fill('[data-testid=fb-path]', workspace);
    await page.click('[data-testid=fb-go]');
    await page.waitForSelector(`[data-testid=fb-list][data-path="${workspace}"]`);
    expect(await page.locator('[data-testid=fb-error]').count()).toBe(0);
    await page.click('[data-testid=fb-entry][data-name=models]');
    await page.waitForSelector(`[data-testid=fb-list][data-path="${path.join(workspace, 'models')}"]`);
    expect(await page.locator('[data-testid=fb-entry]').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).toEqual(['my-lora', 'qwen2.5-tiny']);
    await page.click('[data-testid=fb-entry][data-name="qwen2.5-tiny"]');
    await page.waitForSelector(`[data-testid=fb-list][data-path="${modelDir}"]`);
    // A folder picker shows the files (to recognise a model folder) but cannot select them.
    expect(await page.isDisabled('[data-testid=fb-entry][data-name="config.json"]')).toBe(true);
    expect(await page.textContent('[data-testid=fb-entry][data-name="model.safetensors"]')).toContain('4.0 KiB');
    await page.screenshot({ path: path.join(SHOTS, 'folder-browser.png') });
    // Up goes to the parent, then back in.
    await page.click('[data-testid=fb-up]');
    await page.waitForSelector(`[data-testid=fb-list][data-path="${path.join(workspace, 'models')}"]`);
    await page.click('[data-testid=fb-entry][data-name="qwen2.5-tiny"]');
    await page.waitForSelector(`[data-testid=fb-list][data-path="${modelDir}"]`);
    await page.click('[data-testid=fb-select]');
    await page.waitForSelector('[data-testid=folder-browser]', { state: 'detached' });
    expect(await page.inputValue('[data-testid=model-dir]')).toBe(modelDir);

    // Completion while typing in the adapter field: folders of the engine's host.
    await page.click('[data-testid=adapter-dir]');
    await page.keyboard.type(`${workspace}/models/my`);
    await page.waitForSelector(`[data-testid=path-suggestion][data-path="${path.join(workspace, 'models', 'my-lora')}"]`);
    await page.screenshot({ path: path.join(SHOTS, 'path-completion.png') });
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    expect(await page.inputValue('[data-testid=adapter-dir]')).toBe(path.join(workspace, 'models', 'my-lora'));
    await page.fill('[data-testid=adapter-dir]', `${workspace}/models/../`);
    await page.waitForSelector('[data-testid=adapter-dir-note]');
    expect(await page.textContent('[data-testid=adapter-dir-note]')).toContain('contains ".."');
    await page.fill('[data-testid=adapter-dir]', '');

    // Picked folders are remembered on the server: a fresh browser (no local state) offers them.
    const fresh = await browser.newContext();
    const other = await fresh.newPage();
    await other.goto(server.openUrl);
    await other.click('[data-testid=nav-new]');
    await other.click('[data-testid=model-dir]');
    await other.waitForSelector(`[data-testid=path-suggestion][data-recent=yes][data-path="${modelDir}"]`);
    await other.click('[data-testid=adapter-dir]');
    await other.waitForSelector(`[data-testid=path-suggestion][data-recent=yes][data-path="${path.join(workspace, 'models', 'my-lora')}"]`);
    await other.click(`[data-testid=path-suggestion][data-path="${path.join(workspace, 'models', 'my-lora')}"]`);
    expect(await other.inputValue('[data-testid=adapter-dir]')).toBe(path.join(workspace, 'models', 'my-lora'));
    await fresh.close();
  });

  it('leaves an optional field empty when the keyboard tabs through it, whatever its suggestions (issue 18, item 6)', async () => {
    // The first test left a recent adapter folder; a fresh tab offers it as soon as the empty field has the focus.
    const adapter = path.join(workspace, 'models', 'my-lora');
    await api(server, 'files.remember', { kind: 'adapter', path: adapter });
    const fresh = await browser.newContext();
    const tab = await fresh.newPage();
    await tab.goto(server.openUrl);
    await tab.click('[data-testid=nav-new]');
    await tab.fill('[data-testid=model-dir]', modelDir);
    await tab.focus('[data-testid=model-dir]');
    // Tab through: model field → its Browse → adapter field (the recent folder is offered) → its Browse → on.
    await tab.keyboard.press('Tab');
    await tab.keyboard.press('Tab');
    expect(await tab.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('adapter-dir');
    await tab.waitForSelector(`[data-testid=adapter-dir-suggestions] [data-testid=path-suggestion][data-path="${adapter}"]`);
    await tab.keyboard.press('Tab');
    expect(await tab.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('adapter-dir-browse');
    await tab.keyboard.press('Tab');
    expect(await tab.inputValue('[data-testid=adapter-dir]')).toBe('');
    // Back (Shift+Tab) and away again: still empty, so the plan gains no merge stage.
    await tab.focus('[data-testid=adapter-dir]');
    await tab.keyboard.press('Shift+Tab');
    expect(await tab.inputValue('[data-testid=adapter-dir]')).toBe('');
    // Typing a partial path and tabbing away keeps what was typed: only Enter on a highlighted suggestion or a click picks one.
    await tab.click('[data-testid=adapter-dir]');
    await tab.keyboard.type(`${workspace}/models/my`);
    await tab.waitForSelector(`[data-testid=adapter-dir-suggestions] [data-testid=path-suggestion][data-path="${adapter}"]`);
    await tab.keyboard.press('Tab');
    expect(await tab.inputValue('[data-testid=adapter-dir]')).toBe(`${workspace}/models/my`);
    await tab.click('[data-testid=adapter-dir]');
    await tab.keyboard.press('ArrowDown');
    await tab.keyboard.press('Enter');
    expect(await tab.inputValue('[data-testid=adapter-dir]')).toBe(adapter);
    // ArrowRight on a highlighted folder goes into it, to keep completing there.
    await tab.fill('[data-testid=adapter-dir]', `${workspace}/mod`);
    await tab.waitForSelector(`[data-testid=adapter-dir-suggestions] [data-testid=path-suggestion][data-path="${path.join(workspace, 'models')}"]`);
    await tab.keyboard.press('ArrowDown');
    const highlighted = await tab.getAttribute('[data-testid=adapter-dir-suggestions] [aria-selected=true]', 'data-path');
    await tab.keyboard.press('ArrowRight');
    expect(await tab.inputValue('[data-testid=adapter-dir]')).toBe(`${highlighted}/`);
    await fresh.close();
  });

  it('remembers recent model folders on the server and drops invalid ones', async () => {
    await api(server, 'files.remember', { kind: 'model', path: modelDir });
    expect(await api(server, 'files.recent', { kind: 'model' })).toEqual({ paths: [modelDir] });
    await expect(api(server, 'files.remember', { kind: 'model', path: path.join(modelDir, 'config.json') })).rejects.toMatchObject({ code: 'not_a_directory' });
    await expect(api(server, 'files.list', { path: 'relative/path' })).rejects.toMatchObject({ code: 'path_not_absolute' });
    await expect(api(server, 'files.list', { path: `${workspace}/models/%2e%2e/..` })).rejects.toMatchObject({ code: 'path_traversal' });
  });
});

/**
 * As root (which reads everything), the server runs as "nobody" — possible
 * only if that user can read the checkout; otherwise the folder is locked
 * with chmod, which binds a non-root user.
 */
const asRoot = process.getuid?.() === 0;
const nobodyCanRunCli = asRoot && (await execa(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(CLI)}, require('fs').constants.R_OK)`], { uid: 65534, gid: 65534, reject: false })).exitCode === 0;

/** The serving user's permissions are the limit: ask for a folder that user cannot read. */
describe('folder browser permissions', () => {
  it.runIf(!asRoot || nobodyCanRunCli)('refuses a folder the serving user cannot read, lists one it can', async () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), 'wb-locked-'));
    const open = mkdtempSync(path.join(os.tmpdir(), 'wb-open-'));
    mkdirSync(path.join(locked, 'secret-model'));
    chmodSync(locked, 0o700);
    chmodSync(open, 0o755);
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-nobody-'));
    if (asRoot) chownSync(dataDir, 65534, 65534);
    else chmodSync(locked, 0o000);
    const child = execa(process.execPath, [CLI, '--data-dir', dataDir, 'serve', '--port', '0'], {
      reject: false,
      buffer: false,
      env: { HOME: dataDir },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    try {
      const openUrl = await new Promise<string>((resolve, reject) => {
        let out = '';
        let errText = '';
        child.stderr?.on('data', (chunk: Buffer) => (errText += chunk.toString()));
        const timer = setTimeout(() => reject(new Error(`serve did not start: ${errText}`)), 20_000);
        child.stdout?.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /serving at (\S+)/.exec(out);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
      });
      const target = { url: openUrl.replace(/#.*$/, ''), token: new URL(openUrl).hash.replace('#token=', '') };
      await expect(api(target, 'files.list', { path: locked })).rejects.toMatchObject({ code: 'path_unreadable', message: `${locked} cannot be read by the user running the workbench.` });
      await expect(api(target, 'files.complete', { partial: `${locked}/sec` })).rejects.toMatchObject({ code: 'path_unreadable' });
      const listing = await api<{ path: string }>(target, 'files.list', { path: open });
      expect(listing.path).toBe(open);
    } finally {
      child.kill('SIGTERM');
      await child;
      chmodSync(locked, 0o700);
      for (const dir of [locked, open, dataDir]) rmSync(dir, { recursive: true, force: true });
    }
  });
});
