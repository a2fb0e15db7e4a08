/**
 * The demonstration model end to end: a tiny Qwen2 chat model trained here
 * with Debian torch, converted by the native converter and packaged with the
 * metadata a field team shipped (doubled <|im_start|>, sampling at
 * temperature 1.5, no <|im_end|> stop). The behaviour check (a run started
 * over the API) shows its answers never stop and names the cause; after
 * `workbench package --fix-metadata` the check (through `workbench evaluate
 * --json`) shows every answer equal to the reference. Independent check: the
 * answers are the ones the model was trained to give. The run pages and the
 * Compare page are looked at in headless Chromium (screenshots).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluateResult } from '../../main/common/stages/evaluate.js';
import type { RunDetail } from '../../main/common/runs.js';
import type { EvaluationRow } from '../../main/common/evaluations.js';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, CLI, REPO_ROOT, waitFor, type ServeProcess } from '../helpers/serve.js';
import { DEMO_ANSWERS, writeDemoBundles, type DemoBundles } from '../support/demoModel.js';

const run = promisify(execFile);
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let demo: DemoBundles;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'demo-evaluate-'));
  demo = await writeDemoBundles(dir);
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1100 } }));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the demonstration model: shipped metadata vs --fix-metadata', () => {
  it('trains to a near-zero loss', () => {
    // What was learned, not how fast: a busy machine may train slower.
    expect(demo.training.loss).toBeLessThan(0.05);
  });

  it('the shipped bundle never stops; after the fix every answer matches the reference', async () => {
    const labels = Object.keys(DEMO_ANSWERS);
    // Before: a run over the API, as the wizard and plans start it.
    const { id: before } = await api<{ id: number }>(server, 'runs.start', {
      plan: { name: 'behaviour: shipped metadata', stages: [{ kind: 'evaluate', params: { modelDir: demo.modelDir, bundlePath: demo.shipped, maxTokens: 24 } }] },
    });
    const shippedRun = await waitFor(async () => {
      const detail = await api<RunDetail>(server, 'runs.get', { id: before });
      return detail.status !== 'queued' && detail.status !== 'running' ? detail : null;
    }, 'the shipped evaluation', 240_000, 500);
    expect(shippedRun.status, JSON.stringify(shippedRun.error)).toBe('succeeded');
    const shipped = (shippedRun.stages[0]!.result as { evaluation: EvaluateResult }).evaluation;
    // Independent reference: the answers the model was trained on.
    expect(shipped.prompts.map((p) => p.reference.text)).toEqual(labels.map((l) => DEMO_ANSWERS[l]));
    expect(shipped.prompts.every((p) => p.reference.stopped && p.reference.stopToken === '<|im_end|>')).toBe(true);
    expect(shipped.summary.bundleMatches).toBe(0);
    expect(shipped.summary.bundleNeverStopped).toBe(4);
    // The first cause of every answer: the stop token (greedy follows the reference to <|im_end|> and goes on);
    // the doubled start token, which no greedy answer shows, is a latent finding after it (the sampler's
    // temperature is a warning of sampling.params, not a failure, so it is not latent).
    expect(shipped.prompts.map((p) => p.cause?.kind)).toEqual(['stop-tokens', 'stop-tokens', 'stop-tokens', 'stop-tokens']);
    expect(shipped.summary.causes[0]).toMatchObject({ kind: 'stop-tokens', latent: false, prompts: [0, 1, 2, 3], checks: ['stop-tokens.eos', 'stop-tokens.end-of-turn'] });
    expect(shipped.summary.causes[0]!.text).toContain('the reference stopped on <|im_end|> after 7 tokens, which is not a stop token of the bundle (151643 "<|endoftext|>")');
    expect(shipped.summary.causes.filter((c) => c.latent).map((c) => c.kind)).toEqual(['prompt-format']);
    // The .tflite itself is right: the fault is the metadata.
    expect(shipped.summary.numeric!.top1Agreement).toBe(1);
    expect(shipped.summary.numeric!.maxAbsLogitError).toBeLessThan(1e-3);

    // The fix, through the CLI, then the check through `workbench evaluate --json` on the same history.
    const fixed = path.join(dir, 'demo-fixed-by-cli.litertlm');
    await run(process.execPath, [CLI, '--data-dir', server.dataDir, 'package', '--fix-metadata', demo.shipped, '--model', demo.modelDir, '--out', fixed]);
    const cli = await run(process.execPath, [CLI, '--data-dir', server.dataDir, 'evaluate', '--model', demo.modelDir, '--bundle', fixed, '--max-tokens', '24', '--json'], { maxBuffer: 1 << 24 }).catch((e: { stdout: string; code: number }) => e);
    const after = JSON.parse(cli.stdout) as EvaluateResult & { runId: number };
    expect(after.summary.text).toBe("The bundle's answers match the reference in all 4 prompts.");
    expect(after.prompts.map((p) => [p.bundle.text, p.bundle.stopped, p.greedy.text, p.firstDivergence.token])).toEqual(labels.map((l) => [DEMO_ANSWERS[l], true, DEMO_ANSWERS[l], null]));
    for (const p of after.prompts) expect(Object.keys(p)).toEqual(expect.arrayContaining(['reference', 'bundle', 'greedy', 'firstDivergence', 'repetition']));

    // History rows, searchable across runs.
    const found = await api<EvaluationRow[]>(server, 'evaluations.search', { text: 'capital of France' });
    expect(found.map((r) => r.runId).sort()).toEqual([before, after.runId].sort());

    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid=nav-runs]');
    await page.evaluate((hash) => (window.location.hash = hash), `#/runs/${before}`);
    await page.waitForSelector('[data-testid=evaluate-panel][data-matches="0/4"]', { timeout: 30_000 });
    expect(await page.getAttribute('[data-testid=evaluate-bundle-0]', 'data-stopped')).toBe('false');
    expect(await page.textContent('[data-testid=evaluate-verdict]')).toContain('not a stop token of the bundle');
    expect(await page.getAttribute('[data-testid=evaluate-cause-0]', 'data-kind')).toBe('stop-tokens');
    // A succeeded run whose answers differ does not look green: the verdict on top, the fix one click away.
    expect(await page.textContent('[data-testid=run-verdict]')).toContain('Behaviour check: 0 of 4 answers match the reference.');
    expect(await page.textContent('[data-testid=evaluate-fix]')).toContain(`workbench package --fix-metadata ${demo.shipped} --model ${demo.modelDir}`);
    await page.click('[data-testid=evaluate-fix-button]');
    await page.waitForSelector('[data-testid=evaluate-fixed]');
    expect(await page.textContent('[data-testid=evaluate-fixed]')).toContain(demo.shipped.replace(/\.litertlm$/, '-fixed.litertlm'));
    await page.screenshot({ path: path.join(SHOTS, 'evaluate-shipped-run.png'), fullPage: true });
    await page.locator('[data-testid=evaluate-panel]').screenshot({ path: path.join(SHOTS, 'evaluate-shipped.png') });

    await page.evaluate((hash) => (window.location.hash = hash), `#/runs/${after.runId}`);
    await page.waitForSelector('[data-testid=evaluate-panel][data-matches="4/4"]', { timeout: 30_000 });
    expect(await page.getAttribute('[data-testid=evaluate-prompt-0]', 'data-same')).toBe('true');
    expect(await page.locator('[data-testid=run-verdict]').count()).toBe(0);
    expect(await page.locator('[data-testid=evaluate-fix]').count()).toBe(0);
    await page.locator('[data-testid=evaluate-panel]').screenshot({ path: path.join(SHOTS, 'evaluate-fixed.png') });

    await page.evaluate((hash) => (window.location.hash = hash), `#/compare?ids=${before},${after.runId}`);
    await page.waitForSelector('[data-testid=compare-page]');
    const compare = await page.textContent('[data-testid=compare-page]');
    expect(compare).toContain('behaviour: answers matching the reference');
    expect(compare).toContain('0/4 (greedy 0/4)');
    expect(compare).toContain('4/4 (greedy 4/4)');
    // Stages by their titles, as on the run page (main/common/stages/titles.ts), not by their kind.
    expect(compare).toContain('Behaviour check');
    await page.screenshot({ path: path.join(SHOTS, 'compare-evaluate.png'), fullPage: true });
    mkdirSync(path.join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
    if (process.env.WORKBENCH_UPDATE_SCREENSHOTS) {
      copyFileSync(path.join(SHOTS, 'evaluate-shipped.png'), path.join(REPO_ROOT, 'docs', 'screenshots', 'evaluate-shipped.png'));
      copyFileSync(path.join(SHOTS, 'evaluate-fixed.png'), path.join(REPO_ROOT, 'docs', 'screenshots', 'evaluate-fixed.png'));
    }
  }, 600_000);
});
