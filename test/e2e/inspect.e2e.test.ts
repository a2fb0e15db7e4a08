/**
 * The Inspect page in real headless Chromium against serve mode: open the
 * fixture bundle and the fixture .tflite by path, and a broken file, and see
 * the Netron-style summary (or the reader's one-sentence error); and a
 * package run whose run page shows the bundle and links to its inspection.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, waitFor, type ServeProcess } from '../helpers/serve.js';
import { writeQwenLikePair } from '../support/mergeSupport.js';
import { writeSyntheticTflite } from '../support/syntheticTflite.js';

const FIXTURES = '/work/shared/fixtures';
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'inspect-e2e-'));
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 950 } }));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function open(p: Page, target: string): Promise<void> {
  await p.fill('[data-testid=inspect-path]', target);
  await p.click('[data-testid=inspect-open]');
}

describe('Inspect page', () => {
  it('summarises the fixture bundle, the fixture model, and explains a broken file', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-inspect]');
    await page.waitForSelector('[data-testid=inspect-page]');

    await open(page, path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm'));
    await page.waitForSelector('[data-testid=inspect-summary][data-format=litertlm]');
    const sections = await page.textContent('[data-testid=inspect-sections]');
    expect(sections).toContain('HF_Tokenizer_Zlib');
    expect(sections).toContain('16384');
    expect(sections).toContain('609288');
    expect(await page.textContent('[data-testid=inspect-section-0]')).toMatch(/49152 tokens/);
    expect(await page.textContent('[data-testid=inspect-summary]')).toContain('arch=all, version=0.1');
    // The path is in the route, so the view can be linked and reloaded.
    expect(decodeURIComponent(page.url())).toContain('#/inspect?path=/work/shared/fixtures/litertlm/test_hf_tokenizer.litertlm');
    await page.screenshot({ path: path.join(SHOTS, 'inspect-bundle.png'), fullPage: true });

    await open(page, path.join(FIXTURES, 'tflite', 'dummy_embedding_cpu_model.tflite'));
    await page.waitForSelector('[data-testid=inspect-summary][data-format=tflite]');
    const signatures = await page.textContent('[data-testid=inspect-signatures]');
    expect(signatures).toContain('embeddings: INT32[1]');
    expect(signatures).toContain('output_0: FLOAT32[1, 1, 4, 32]');

    const broken = path.join(dir, 'broken.litertlm');
    writeFileSync(broken, readFileSync(path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm')).subarray(0, 300_000));
    await open(page, broken);
    await page.waitForSelector('.error-box');
    expect(await page.textContent('.error-box')).toMatch(/is truncated: section 0 \(HF_Tokenizer_Zlib\) ends at byte 609288 but the file has 300000 bytes/);
    // The .tflite opened before is not shown under the error as if it were this file.
    expect(await page.locator('[data-testid=inspect-summary]').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'inspect-error.png') });
  });

  it('recognises a LoRA adapter folder and shows its settings', async () => {
    const { adapterDir } = await writeQwenLikePair(path.join(dir, 'pair'), { r: 8, alpha: 16 });
    await open(page, adapterDir);
    await page.waitForSelector('[data-testid=inspect-adapter]');
    expect(await page.textContent('[data-testid=inspect-summary]')).toContain('LoRA adapter (PEFT)');
    const card = (await page.textContent('[data-testid=inspect-adapter]')) ?? '';
    expect(card).toContain('8 · 16');
    expect(card).toContain('2 (alpha / r)');
    expect(card).toContain('adapter_model.safetensors: 28 tensors');
    expect(await page.locator('text=No weight files').count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'inspect-adapter.png'), fullPage: true });
  });

  it('says a link is wrong instead of showing another page', async () => {
    await page.evaluate(() => (window.location.hash = '#/runs/abc'));
    expect(await page.textContent('[data-testid=not-found]')).toContain('"abc" is not a run number.');
    await page.evaluate(() => (window.location.hash = '#/nowhere'));
    expect(await page.textContent('[data-testid=not-found]')).toContain('There is no page "nowhere".');
    await page.evaluate(() => (window.location.hash = '#/runs/999'));
    expect(await page.textContent('.error-box')).toContain('Run 999 does not exist.');
    // The serve URL's #token=… pasted again into the open tab is the start page, not an unknown one.
    // (Its real token: a pasted token replaces the tab's, so a made-up one would log the tab out.)
    await page.evaluate((hash) => (window.location.hash = hash), new URL(server.openUrl).hash);
    await page.waitForSelector('[data-testid=runs-page]');
  });

  it('shows a package run on its run page and opens the bundle on the Inspect page', async () => {
    const modelDir = path.join(dir, 'model');
    mkdirSync(modelDir);
    symlinkSync(path.join(FIXTURES, 'litertlm', 'tokenizer.json'), path.join(modelDir, 'tokenizer.json'));
    writeFileSync(
      path.join(modelDir, 'tokenizer_config.json'),
      JSON.stringify({ eos_token: '<|im_end|>', chat_template: "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}" }),
    );
    writeFileSync(path.join(modelDir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2, do_sample: true, temperature: 0.7, top_p: 0.8, top_k: 20, repetition_penalty: 1.1 }));
    writeFileSync(path.join(modelDir, 'config.json'), JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' }));
    const tflitePath = path.join(dir, 'model.tflite');
    await writeSyntheticTflite(tflitePath, { kvCacheMaxLen: 4096 });
    const outPath = path.join(dir, 'model.litertlm');
    const { id } = await api<{ id: number }>(server, 'runs.start', { plan: { name: 'package e2e', stages: [{ kind: 'package', params: { tflitePath, modelDir, outPath } }] } });
    await waitFor(async () => {
      const run = await api<{ status: string }>(server, 'runs.get', { id });
      if (run.status === 'failed') throw new Error(`package run failed: ${JSON.stringify(run)}`);
      return run.status === 'succeeded';
    }, 'the package run', 60_000);

    await page.evaluate((runId) => (window.location.hash = `#/runs/${runId}`), id);
    await page.waitForSelector('[data-testid=package-panel]');
    const panel = await page.textContent('[data-testid=package-panel]');
    expect(panel).toContain('LlmMetadataProto, HF_Tokenizer_Zlib, TFLiteModel');
    expect(panel).toContain('TOP_P k 20 p 0.8 T 0.7');
    expect(panel).toMatch(/repetition_penalty 1\.1/);
    await page.screenshot({ path: path.join(SHOTS, 'package-run.png'), fullPage: true });

    // The model folder on the Inspect page: the metadata the packager derives, editable.
    await page.evaluate((folder) => (window.location.hash = `#/inspect?path=${encodeURIComponent(folder)}`), modelDir);
    await page.waitForSelector('[data-testid=inspect-summary][data-format=hf-folder]');
    await page.waitForSelector('[data-testid=metadata-editor]');
    expect(await page.inputValue('[data-testid=meta-stop]')).toBe('2');
    await page.fill('[data-testid=meta-stop]', '2, <|endoftext|>');
    await page.press('[data-testid=meta-stop]', 'Enter');
    await page.click('[data-testid=meta-json] summary');
    const json = JSON.parse((await page.textContent('[data-testid=meta-json] pre')) ?? '{}') as { stopTokens: unknown; samplerParams: unknown };
    expect(json.stopTokens).toEqual([{ tokenIds: { ids: [2] } }, { tokenStr: '<|endoftext|>' }]);
    expect(json.samplerParams).toEqual({ type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 });
    expect(await page.textContent('[data-testid=metadata-editor]')).toContain('edited');
    await page.screenshot({ path: path.join(SHOTS, 'inspect-folder-metadata.png'), fullPage: true });

    await page.evaluate((runId) => (window.location.hash = `#/runs/${runId}`), id);
    await page.waitForSelector('[data-testid=package-panel]');
    await page.click('[data-testid=package-panel] a:has-text("Inspect")');
    await page.waitForSelector('[data-testid=inspect-summary][data-format=litertlm]');
    expect(await page.textContent('[data-testid=inspect-metadata]')).toMatch(/Max tokens4096/);
    expect(await page.textContent('[data-testid=inspect-tflite]')).toMatch(/4096 tokens × 2 layers/);
  });
});
