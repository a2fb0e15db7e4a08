/**
 * The demonstration started from the New run page (issue 18, item 9), in
 * real headless Chromium against serve mode: one click on "Run the demo"
 * starts one run (the `demo` stage trains with Debian's torch, converts
 * natively and packages the shipped and the fixed bundle; then the
 * behaviour check runs on each) and opens its page, which shows live
 * progress and, at the end, the shipped bundle's differing answers with the
 * stop-tokens cause first and the fixed bundle's answers all matching.
 * Independent reference: the answers the model was trained to give.
 * Without torch, the click shows `workbench demo`'s sentence and no run is
 * created; a Python in Settings that does not exist is refused the same way.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunSummary } from '../../main/common/runs.js';
import type { EvaluateResult } from '../../main/common/stages/evaluate.js';
import { DEMO_ANSWERS } from '../../main/core/demo/demoModel.js';
import { venvPython } from '../../main/core/env/python.js';
import { openApp, type OpenApp } from '../helpers/browser.js';
import { api, freshDataDir, REPO_ROOT } from '../helpers/serve.js';

const DOCS_SHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');
const opened: OpenApp[] = [];
const dataDirs: string[] = [];

afterAll(async () => {
  for (const app of opened) {
    await app.browser.close();
    await app.server.stop();
  }
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

async function open(dataDir: string): Promise<OpenApp> {
  dataDirs.push(dataDir);
  const app = await openApp({ serve: { dataDir }, viewport: { width: 1400, height: 1000 } });
  opened.push(app);
  return app;
}

describe('Run the demo (New run page)', () => {
  it('without torch: the page says what is missing, in the CLI sentence, and no run is created', async () => {
    // The workbench's own environment comes first (as `workbench demo` and evaluate choose): a Python without site-packages.
    const dataDir = freshDataDir('demo-run-notorch');
    const python = venvPython(dataDir);
    mkdirSync(path.dirname(python), { recursive: true });
    writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(python, 0o755);
    const { server, page } = await open(dataDir);

    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.click('[data-testid=demo-start]');
    await page.waitForSelector('[data-testid=demo-error]');
    const error = (await page.textContent('[data-testid=demo-error]')) ?? '';
    expect(error).toContain(`torch is not importable from ${python}; install python3-torch (Debian), choose a Python with torch in Settings, or run \`workbench doctor\`.`);
    expect(await page.getAttribute('[data-testid=demo-error] .error-box', 'data-code')).toBe('torch_missing');
    expect(page.url()).toContain('#/new');
    expect((await api<{ total: number }>(server, 'runs.list', {})).total).toBe(0);
    expect(existsSync(path.join(dataDir, 'demo')) ? readdirSync(path.join(dataDir, 'demo')) : []).toEqual([]);

    // A Python chosen in Settings that does not exist: refused before any run, with the Settings sentence.
    const missing = path.join(dataDir, 'no-such-python');
    await api(server, 'settings.update', { pythonPath: missing });
    await page.click('[data-testid=demo-start]');
    await page.waitForSelector(`[data-testid=demo-error] .error-box[data-code=python_unsuitable]`);
    expect(await page.textContent('[data-testid=demo-error]')).toContain(`The Python chosen in Settings cannot be used: ${missing} does not exist or is not executable.`);
    expect((await api<{ total: number }>(server, 'runs.list', {})).total).toBe(0);
  }, 300_000);

  it('one click: a run that trains, packages and checks both bundles, watched on its page', async () => {
    const { server, page } = await open(freshDataDir('demo-run'));
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-new]');
    await page.waitForSelector('[data-testid=demo-start]');
    await page.screenshot({ path: path.join(DOCS_SHOTS, 'demo-new-run.png') });
    await page.click('[data-testid=demo-start]');
    await page.waitForSelector('[data-testid=run-detail]');
    const runId = Number(/#\/runs\/(\d+)/.exec(page.url())![1]);

    // Live: the demo stage reports its training steps with the loss (looked at a little way in).
    await page.waitForFunction(() => /step ([5-9]\d|\d{3,})\/\d+, loss/.test(document.querySelector('[data-testid=stage-phase]')?.textContent ?? ''), undefined, { timeout: 600_000 });
    await page.screenshot({ path: path.join(DOCS_SHOTS, 'demo-run-running.png') });
    // Listed in the run list while it runs.
    const listed = await api<{ runs: RunSummary[] }>(server, 'runs.list', {});
    expect(listed.runs.map((r) => [r.id, r.name, r.stageKinds])).toEqual([[runId, 'Demo: shipped metadata vs fixed', ['demo', 'evaluate', 'evaluate']]]);

    await page.waitForSelector('[data-testid=run-detail][data-run-status=succeeded]', { timeout: 1_500_000 });
    const titles = await page.$$eval('[data-testid=stage] .stage-title', (items) => items.map((i) => i.textContent));
    expect(titles).toEqual(['Demonstration model: train, convert, package', 'Behaviour check', 'Behaviour check']);
    expect(await page.$$eval('[data-testid=stage]', (items) => items.map((i) => i.getAttribute('data-stage-status')))).toEqual(['succeeded', 'succeeded', 'succeeded']);
    // Each finished behaviour check closes with its verdict, not the title of its last step.
    const notes = await page.$$eval('[data-testid=stage] [data-testid=stage-note]', (items) => items.map((i) => i.textContent));
    expect(notes.slice(1)).toEqual(['0 of 4 answers match the reference.', '4 of 4 answers match the reference.']);

    // The two behaviour checks, in plan order: shipped (answers differ, the stop tokens first), fixed (all match).
    const panels = page.locator('[data-testid=evaluate-panel]');
    expect(await panels.count()).toBe(2);
    expect(await panels.nth(0).getAttribute('data-verdict')).toBe('differ');
    expect(await panels.nth(0).getAttribute('data-matches')).toBe('0/4');
    expect(await panels.nth(0).locator('h2').textContent()).toBe('Behaviour check — demo-shipped.litertlm');
    expect(await panels.nth(0).locator('[data-testid=evaluate-cause-0]').getAttribute('data-kind')).toBe('stop-tokens');
    expect(await panels.nth(0).locator('[data-testid=evaluate-cause-0]').textContent()).toContain('which is not a stop token of the bundle');
    // The fix is the run's own fixed bundle, not a button writing another one.
    expect(await panels.nth(0).locator('[data-testid=evaluate-fix]').textContent()).toContain('The fix is already made: demo-fixed.litertlm');
    expect(await panels.nth(1).getAttribute('data-verdict')).toBe('match');
    expect(await panels.nth(1).getAttribute('data-matches')).toBe('4/4');
    expect(await panels.nth(1).locator('[data-testid=evaluate-verdict]').textContent()).toBe("The bundle's answers match the reference in all 4 prompts.");

    // The demo panel: both verdicts, links to Try and Inspect each bundle.
    expect(await page.getAttribute('[data-testid=demo-bundle-shipped]', 'data-verdict')).toBe('differ');
    expect(await page.getAttribute('[data-testid=demo-bundle-fixed]', 'data-verdict')).toBe('match');
    const detail = await api<RunDetail>(server, 'runs.get', { id: runId });
    const demo = (detail.stages[0]!.result as { demo: { outDir: string; shipped: string; fixed: string; modelDir: string } }).demo;
    expect(path.dirname(demo.outDir)).toBe(path.join(server.dataDir, 'demo'));
    expect(await page.getAttribute('[data-testid=demo-try-fixed]', 'href')).toBe(`#/try?bundle=${encodeURIComponent(demo.fixed)}`);
    expect(await page.getAttribute('[data-testid=demo-inspect-shipped]', 'href')).toBe(`#/inspect?path=${encodeURIComponent(demo.shipped)}`);
    // The top of the page: stages, the demo panel with both verdicts, the shipped bundle's check and its causes.
    const shippedBottom = await panels.nth(0).locator('[data-testid=evaluate-causes]').evaluate((el) => el.getBoundingClientRect().bottom + window.scrollY);
    await page.screenshot({ path: path.join(DOCS_SHOTS, 'demo-run-finished.png'), fullPage: true, clip: { x: 0, y: 0, width: 1400, height: Math.ceil(shippedBottom) + 16 } });

    // The run's report names the three stages and carries both checks.
    const report = await api<{ text: string }>(server, 'runs.exportReport', { id: runId, format: 'md' });
    expect(report.text.match(/^## Behaviour check \(stage \d\)$/gm)).toEqual(['## Behaviour check (stage 2)', '## Behaviour check (stage 3)']);

    // The evaluations answer with what the model was trained to say.
    const evaluation = (i: number) => (detail.stages[i]!.result as { evaluation: EvaluateResult }).evaluation;
    const labels = Object.keys(DEMO_ANSWERS);
    expect(evaluation(1).bundlePath).toBe(demo.shipped);
    expect(evaluation(1).prompts.map((p) => p.reference.text)).toEqual(labels.map((l) => DEMO_ANSWERS[l]));
    expect(evaluation(1).summary.bundleNeverStopped).toBe(4);
    expect(evaluation(2).bundlePath).toBe(demo.fixed);
    expect(evaluation(2).prompts.map((p) => [p.bundle.text, p.bundle.stopped])).toEqual(labels.map((l) => [DEMO_ANSWERS[l], true]));

    // "Run again" never overwrites this demo: it offers a new folder beside it; cancelling that run stops its training.
    await page.click('[data-testid=rerun]');
    await page.waitForSelector('[data-testid=rerun-choice]');
    expect(await page.textContent('[data-testid=rerun-choice]')).toContain(`${demo.outDir} already holds a demonstration (demo-shipped.litertlm, demo-fixed.litertlm); choose a new folder or delete that one.`);
    await page.click('[data-testid=rerun-new-outputs]');
    await page.waitForURL((url) => !url.hash.endsWith(`/runs/${runId}`));
    const againId = Number(/#\/runs\/(\d+)/.exec(page.url())![1]);
    const again = await api<RunDetail>(server, 'runs.get', { id: againId });
    expect(again.stages.map((s) => s.params.outDir ?? s.params.bundlePath)).toEqual([`${demo.outDir}-2`, path.join(`${demo.outDir}-2`, 'demo-shipped.litertlm'), path.join(`${demo.outDir}-2`, 'demo-fixed.litertlm')]);
    await page.waitForFunction(() => /step \d+\/\d+, loss/.test(document.querySelector('[data-testid=stage-phase]')?.textContent ?? ''), undefined, { timeout: 600_000 });
    await page.click('[data-testid=cancel-run]');
    await page.waitForSelector('[data-testid=run-detail][data-run-status=cancelled]', { timeout: 300_000 });
    expect(existsSync(demo.shipped) && existsSync(demo.fixed)).toBe(true);

    // Inspect opens the shipped bundle from the demo panel.
    await page.evaluate((id) => (location.hash = `#/runs/${id}`), runId);
    await page.click('[data-testid=demo-inspect-shipped]');
    await page.waitForSelector('[data-testid=inspect-summary][data-format=litertlm]');
    expect(await page.inputValue('[data-testid=inspect-path]')).toBe(demo.shipped);

    // The same folder again is refused, never overwritten silently.
    await expect(api(server, 'demo.start', { outDir: demo.outDir })).rejects.toMatchObject({ code: 'demo_output_exists' });
  }, 1_800_000);
});
