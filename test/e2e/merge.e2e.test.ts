/**
 * The merge in real headless Chromium against serve mode: a merge run on a
 * generated model shows its live progress (tensors, bytes,
 * throughput, ETA) on the run page while it runs, then the merge panel with
 * tensors touched, the scale per module group, the verify result and the
 * files with their SHA-256.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { api, REPO_ROOT, startServe, waitFor, type ServeProcess } from '../helpers/serve.js';
import { writeSafetensors } from '../support/mergeSupport.js';

const SHOTS = path.join(REPO_ROOT, 'test-results');
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(path.join(os.tmpdir(), 'merge-e2e-'));
  server = await startServe();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
  page.on('pageerror', (error) => console.error('page error:', error.message));
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('merge run page', () => {
  it('shows progress while merging and a summary afterwards', async () => {
    // Twelve 2048 × 2048 BF16 weights with rank-256 factors on one worker thread: enough
    // multiply-adds (13 G) for the merge to run for seconds, cheap to generate (constant values).
    const baseDir = path.join(dir, 'base');
    const adapterDir = path.join(dir, 'adapter');
    const weight = new Float32Array(2048 * 2048).fill(0.5);
    const factor = new Float32Array(256 * 2048).fill(0.01);
    const modules = Array.from({ length: 12 }, (_, i) => `model.layers.${i}.mlp.up_proj`);
    await writeSafetensors(baseDir, modules.map((m) => ({ name: `${m}.weight`, shape: [2048, 2048], dtype: 'BF16' as const, values: weight })), 1);
    await writeSafetensors(
      adapterDir,
      modules.flatMap((m) => [
        { name: `base_model.model.${m}.lora_A.weight`, shape: [256, 2048], values: factor },
        { name: `base_model.model.${m}.lora_B.weight`, shape: [2048, 256], values: factor },
      ]),
      2,
      { fileName: 'adapter_model.safetensors' },
    );
    writeFileSync(path.join(baseDir, 'config.json'), JSON.stringify({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' }));
    writeFileSync(path.join(adapterDir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', base_model_name_or_path: baseDir, r: 256, lora_alpha: 512, target_modules: ['up_proj'] }));
    const outDir = path.join(dir, 'merged model');
    const { id } = await api<{ id: number }>(server, 'runs.start', { plan: { name: 'merge e2e', stages: [{ kind: 'merge', params: { baseDir, adapterDir, outDir, threads: 1 } }] } });
    await page.goto(server.openUrl);
    await page.evaluate((runId) => (window.location.hash = `#/runs/${runId}`), id);
    await page.waitForSelector('[data-testid=run-detail]');
    await page.waitForFunction(() => /tensors/.test(document.querySelector('[data-testid=merge-live]')?.textContent ?? ''), undefined, { timeout: 15_000 });
    const live = await page.textContent('[data-testid=merge-live]');
    expect(live).toMatch(/\d+\/12 tensors · .+ of 96\.0 MiB · .+\/s/);
    await page.screenshot({ path: path.join(SHOTS, 'merge-running.png') });
    await waitFor(async () => {
      const run = await api<{ status: string }>(server, 'runs.get', { id });
      if (run.status === 'failed') throw new Error(`merge run failed: ${JSON.stringify(run)}`);
      return run.status === 'succeeded';
    }, 'the merge run', 120_000);
    await page.waitForSelector('[data-testid=merge-panel][data-state=done]', { timeout: 20_000 });
    expect(await page.textContent('[data-testid=merge-touched]')).toMatch(/^12 of 12 \(12 LoRA modules\)$/);
    expect(await page.textContent('[data-testid=merge-verify]')).toMatch(/^passed: [\d,.]+ values in \d+ tensors/);
    const scales = await page.textContent('[data-testid=merge-scales]');
    expect(scales?.replace(/\s+/g, ' ')).toMatch(/2\s*256\s*512\s*12/);
    await page.click('[data-testid=merge-panel] summary');
    expect(await page.textContent('[data-testid=merge-files]')).toMatch(/model\.safetensors.*sha256 [0-9a-f]{64}/s);
    expect(await page.textContent('[data-testid=merge-panel]')).toContain(outDir);
    await page.screenshot({ path: path.join(SHOTS, 'merge-summary.png'), fullPage: true });
  });
});
