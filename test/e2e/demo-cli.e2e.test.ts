/**
 * `workbench demo` end to end: real training with Debian's torch, the native
 * converter, LiteRT-LM's engine. `--json` prints exactly one JSON document;
 * the shipped bundle's behaviour check finds differences (it never stops,
 * and the cause is named), the fixed bundle's answers all match. Independent
 * reference: the answers the model was trained to give. A Python without
 * torch gets one clear sentence and exit 3, and nothing is written. Then the
 * two runs it recorded are looked at in serve mode, in headless Chromium: the
 * run pages (verdict, causes, the fix one click away), Compare, and the
 * evaluation rows searchable across runs.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationRow } from '../../main/common/evaluations.js';
import type { EvaluateResult } from '../../main/common/stages/evaluate.js';
import type { RunDetail } from '../../main/common/runs.js';
import { DEMO_ANSWERS } from '../../main/core/demo/demoModel.js';
import { venvPython } from '../../main/core/env/python.js';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, CLI, REPO_ROOT, type ServeProcess } from '../helpers/serve.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

interface DemoDoc {
  status: string;
  training: { loss: number };
  modelDir: string;
  shipped: { bundle: string; runId: number; matches: number; prompts: number; show: string };
  fixed: { bundle: string; runId: number; matches: number; prompts: number; show: string };
  serveHint: string;
}

let dir: string;
/** The demo the third test ran (its data folder and JSON document), looked at in serve mode by the fourth. */
let demo: { dataDir: string; doc: DemoDoc } | null = null;
let server: ServeProcess | undefined;
let browser: Browser | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'demo-cli-'));
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('workbench demo', () => {
  it('names what is missing when the configured Python cannot import torch (exit 3, nothing written)', async () => {
    // The workbench's own environment comes first (as `doctor` and evaluate choose): a Python without site-packages.
    const dataDir = path.join(dir, 'no-torch-data');
    const python = venvPython(dataDir);
    mkdirSync(path.dirname(python), { recursive: true });
    writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(python, 0o755);
    const out = path.join(dir, 'no-torch-out');

    const asJson = await cli(['--data-dir', dataDir, 'demo', '--out', out, '--json']);
    expect(asJson.code, asJson.stderr).toBe(3);
    const doc = JSON.parse(asJson.stdout) as { status: string; error: { code: string; message: string } };
    expect(doc.status).toBe('failed');
    expect(doc.error.code).toBe('torch_missing');
    expect(doc.error.message).toBe(`torch is not importable from ${python}; install python3-torch (Debian), choose a Python with torch in Settings, or run \`workbench doctor\`.`);

    const asText = await cli(['--data-dir', dataDir, 'demo', '--out', out]);
    expect(asText.code).toBe(3);
    expect(asText.stdout).toBe('');
    expect(asText.stderr.split('\n')[0]).toBe(`error: ${doc.error.message}`);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it('--out naming a file is a clear error (exit 3)', async () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const result = await cli(['--data-dir', path.join(dir, 'file-data'), 'demo', '--out', file, '--json']);
    expect(result.code).toBe(3);
    expect((JSON.parse(result.stdout) as { error: { message: string } }).error.message).toBe(`--out ${file} is a file; name a folder for the demonstration model and its bundles.`);
  }, 60_000);

  it('trains, packages shipped and fixed, and the behaviour check tells them apart (one JSON document)', async () => {
    const dataDir = path.join(dir, 'data');
    const out = path.join(dir, 'out');
    const result = await cli(['--data-dir', dataDir, 'demo', '--out', out, '--json']);
    expect(result.code, result.stderr).toBe(0);
    // Exactly one JSON document on stdout: JSON.parse of the whole of it.
    const doc = JSON.parse(result.stdout) as DemoDoc;
    expect(doc.status).toBe('as_expected');
    expect(doc.training.loss).toBeLessThan(0.05);
    expect([doc.shipped.bundle, doc.fixed.bundle, doc.modelDir]).toEqual([path.join(out, 'demo-shipped.litertlm'), path.join(out, 'demo-fixed.litertlm'), path.join(out, 'demo-model')]);
    for (const file of [doc.shipped.bundle, doc.fixed.bundle, path.join(doc.modelDir, 'tokenizer.json'), path.join(doc.modelDir, 'model.safetensors')]) expect(existsSync(file)).toBe(true);
    expect([doc.shipped.matches, doc.shipped.prompts, doc.fixed.matches, doc.fixed.prompts]).toEqual([0, 4, 4, 4]);
    expect(doc.shipped.show).toBe(`workbench runs show ${doc.shipped.runId}`);
    expect(doc.serveHint).toContain(`#/compare?ids=${doc.shipped.runId},${doc.fixed.runId}`);

    // The two runs are in the history, with the full evaluation.
    const evaluation = async (id: number) => {
      const shown = await cli(['--data-dir', dataDir, 'runs', 'show', String(id), '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      return ((JSON.parse(shown.stdout) as RunDetail).stages[0]!.result as { evaluation: EvaluateResult }).evaluation;
    };
    const labels = Object.keys(DEMO_ANSWERS);
    const shipped = await evaluation(doc.shipped.runId);
    expect(shipped.prompts.map((p) => p.reference.text)).toEqual(labels.map((l) => DEMO_ANSWERS[l]));
    expect(shipped.prompts.every((p) => p.reference.stopped && p.reference.stopToken === '<|im_end|>')).toBe(true);
    expect(shipped.summary.bundleNeverStopped).toBe(4);
    // The same first cause as the demo e2e: the stop token, with what was seen (causes ranked by evidence).
    expect(shipped.summary.causes[0]).toMatchObject({ kind: 'stop-tokens', latent: false, prompts: [0, 1, 2, 3], checks: ['stop-tokens.eos', 'stop-tokens.end-of-turn'] });
    expect(shipped.summary.causes[0]!.text).toContain('the reference stopped on <|im_end|> after 7 tokens, which is not a stop token of the bundle (151643 "<|endoftext|>")');
    // The doubled start token, which no greedy answer shows, is a latent finding after it (the sampler's
    // temperature is a warning of sampling.params, not a failure, so it is not latent).
    expect(shipped.summary.causes.filter((c) => c.latent).map((c) => c.kind)).toEqual(['prompt-format']);
    // The .tflite itself is right: the fault is the metadata.
    expect(shipped.summary.numeric!.top1Agreement).toBe(1);
    expect(shipped.summary.numeric!.maxAbsLogitError).toBeLessThan(1e-3);
    const fixed = await evaluation(doc.fixed.runId);
    expect(fixed.summary.text).toBe("The bundle's answers match the reference in all 4 prompts.");
    expect(fixed.prompts.map((p) => [p.bundle.text, p.bundle.stopped, p.greedy.text, p.firstDivergence.token])).toEqual(labels.map((l) => [DEMO_ANSWERS[l], true, DEMO_ANSWERS[l], null]));
    for (const p of fixed.prompts) expect(Object.keys(p)).toEqual(expect.arrayContaining(['reference', 'bundle', 'greedy', 'firstDivergence', 'repetition']));
    demo = { dataDir, doc };
  }, 900_000);

  it('its runs in serve mode: the verdict on top, the fix one click away, Compare, and the answers searchable', async () => {
    expect(demo, 'the demo of the previous test').not.toBeNull();
    const { dataDir, doc } = demo!;
    let page: Page;
    ({ server, browser, page } = await openApp({ serve: { dataDir }, viewport: { width: 1400, height: 1100 } }));

    // History rows, searchable across runs.
    const found = await api<EvaluationRow[]>(server, 'evaluations.search', { text: 'capital of France' });
    expect(found.map((r) => r.runId).sort()).toEqual([doc.shipped.runId, doc.fixed.runId].sort());

    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid=nav-runs]');
    await page.evaluate((hash) => (window.location.hash = hash), `#/runs/${doc.shipped.runId}`);
    await page.waitForSelector('[data-testid=evaluate-panel][data-matches="0/4"]');
    expect(await page.getAttribute('[data-testid=evaluate-bundle-0]', 'data-stopped')).toBe('false');
    expect(await page.textContent('[data-testid=evaluate-verdict]')).toContain('not a stop token of the bundle');
    expect(await page.getAttribute('[data-testid=evaluate-cause-0]', 'data-kind')).toBe('stop-tokens');
    // A succeeded run whose answers differ does not look green: the verdict on top, the fix one click away.
    expect(await page.textContent('[data-testid=run-verdict]')).toContain('Behaviour check: 0 of 4 answers match the reference.');
    expect(await page.textContent('[data-testid=evaluate-fix]')).toContain(`workbench package --fix-metadata ${doc.shipped.bundle} --model ${doc.modelDir}`);
    await page.click('[data-testid=evaluate-fix-button]');
    await page.waitForSelector('[data-testid=evaluate-fixed]');
    const fixedByButton = doc.shipped.bundle.replace(/\.litertlm$/, '-fixed.litertlm');
    expect(await page.textContent('[data-testid=evaluate-fixed]')).toContain(fixedByButton);
    expect(existsSync(fixedByButton)).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'evaluate-shipped-run.png'), fullPage: true });
    await page.locator('[data-testid=evaluate-panel]').screenshot({ path: path.join(SHOTS, 'evaluate-shipped.png') });

    await page.evaluate((hash) => (window.location.hash = hash), `#/runs/${doc.fixed.runId}`);
    await page.waitForSelector('[data-testid=evaluate-panel][data-matches="4/4"]');
    expect(await page.getAttribute('[data-testid=evaluate-prompt-0]', 'data-same')).toBe('true');
    expect(await page.locator('[data-testid=run-verdict]').count()).toBe(0);
    expect(await page.locator('[data-testid=evaluate-fix]').count()).toBe(0);
    await page.locator('[data-testid=evaluate-panel]').screenshot({ path: path.join(SHOTS, 'evaluate-fixed.png') });

    // The serve hint's Compare link.
    await page.evaluate((hash) => (window.location.hash = hash), `#/compare?ids=${doc.shipped.runId},${doc.fixed.runId}`);
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
  }, 300_000);
});
