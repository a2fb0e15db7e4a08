/**
 * The run report (issue 16, item 4) on a real run recorded in a real SQLite
 * file: a behaviour check of the hot-sampler fault bundle
 * (test/support/faultBundles.ts) started over the API in serve mode, with a
 * prompt that carries `<script>` and an `<img onerror>`. The run page's
 * button downloads the HTML report in headless Chromium; the downloaded file
 * is opened in Chromium (the hostile prompt stays text: no script runs, no
 * request leaves the page) and photographed; `workbench runs export`
 * writes the Markdown and obeys --json and its usage rules on the same
 * history.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../main/common/runs.js';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, CLI, REPO_ROOT, waitFor, type ServeProcess } from '../helpers/serve.js';
import { faultBundles, type FaultSet } from '../support/faultBundles.js';

const run = promisify(execFile);
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let set: FaultSet;
let runId: number;

const HOSTILE = 'What is the capital of France? <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> | `tick`';

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'run-report-'));
  set = await faultBundles();
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1000 } }));
  const prompts = path.join(dir, 'prompts.jsonl');
  writeFileSync(prompts, `${JSON.stringify({ label: 'hostile <b>', messages: [{ role: 'user', content: HOSTILE }] })}\n${readFileSync(set.cases.sampler.promptsFile, 'utf8')}`);
  ({ id: runId } = await api<{ id: number }>(server, 'runs.start', {
    plan: { name: 'report <script>alert(1)</script>', stages: [{ kind: 'evaluate', params: { modelDir: set.modelDir, bundlePath: set.cases.sampler.bundle, promptsFile: prompts, onlyPromptsFile: true, maxTokens: 12 } }] },
  }));
  const detail = await waitFor(async () => {
    const d = await api<RunDetail>(server, 'runs.get', { id: runId });
    return d.status !== 'queued' && d.status !== 'running' ? d : null;
  }, 'the evaluate run', 1_200_000, 1000);
  expect(detail.status, JSON.stringify(detail.stages[0]?.error)).toBe('succeeded');
}, 1_800_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('run report', () => {
  it('the run page downloads a self-contained HTML report in which the hostile prompt is inert', async () => {
    await page.goto(server.openUrl);
    await page.waitForSelector('[data-testid=nav-runs]');
    await page.evaluate((hash) => (window.location.hash = hash), `#/runs/${runId}`);
    await page.waitForSelector('[data-testid=evaluate-panel]', { timeout: 60_000 });
    // The run page's causes: the sampler first, its evidence one click away.
    expect(await page.getAttribute('[data-testid=evaluate-cause-0]', 'data-kind')).toBe('sampler');
    await page.click('[data-testid=evaluate-cause-0] summary');
    await page.locator('[data-testid=evaluate-panel]').screenshot({ path: path.join(SHOTS, 'evaluate-causes.png') });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), page.click('[data-testid=export-report-html]')]);
    expect(download.suggestedFilename()).toBe(`run-${runId}-report.html`);
    const file = path.join(dir, download.suggestedFilename());
    await download.saveAs(file);
    const html = readFileSync(file, 'utf8');
    // Escaped, not live markup; nothing fetched from elsewhere.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(html).toContain("default-src 'none'");
    // Sections: parameters, stages, memory chart, behaviour check with its causes (the hot sampler first).
    for (const heading of ['Parameters', 'Stages', 'Memory', 'Behaviour check']) expect(html).toContain(`<h2>${heading}`);
    expect(html).toContain('data-testid="report-memory-chart"');
    expect(html).toMatch(/<li data-kind="sampler">/);

    // Opened as a file in Chromium: the prompt shows as text, no script ran, no request left the file.
    const viewer = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    viewer.on('request', (r) => requests.push(r.url()));
    await viewer.goto(`file://${file}`);
    await viewer.waitForSelector('[data-testid=report]');
    expect(await viewer.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await viewer.textContent('[data-testid=report-prompts]')).toContain('<script>window.__pwned = 1</script>');
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    expect(await viewer.locator('[data-testid=report-memory-chart] path').count()).toBeGreaterThan(0);
    expect(await viewer.getAttribute('[data-testid=report-causes] li', 'data-kind')).toBe('sampler');
    await viewer.screenshot({ path: path.join(SHOTS, 'run-report.png'), fullPage: true });
    if (process.env.WORKBENCH_UPDATE_SCREENSHOTS) {
      mkdirSync(path.join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
      copyFileSync(path.join(SHOTS, 'run-report.png'), path.join(REPO_ROOT, 'docs', 'screenshots', 'run-report.png'));
    }
    await viewer.close();
  }, 300_000);

  it('workbench runs export writes Markdown, prints one JSON document with --json, and refuses bad input', async () => {
    const md = path.join(dir, 'report.md');
    const cli = (args: string[]) => run(process.execPath, [CLI, '--data-dir', server.dataDir, 'runs', 'export', ...args], { maxBuffer: 1 << 24 }).then((r) => ({ ...r, code: 0 }), (e: { stdout: string; stderr: string; code: number }) => e);
    const written = await cli([String(runId), '--format', 'md', '--out', md]);
    expect(written.code, written.stderr).toBe(0);
    const text = readFileSync(md, 'utf8');
    expect(text).toContain(`# Run ${runId} — report &lt;script&gt;alert(1)&lt;/script&gt;`);
    expect(text).toContain('## Behaviour check');
    expect(text).toMatch(/1\. \*\*sampler\*\*/);
    // The prompt's pipe cannot break the table, its markup is text.
    expect(text).toContain('&lt;script&gt;window.__pwned = 1&lt;/script&gt;');
    expect(text).toContain('\\| \\`tick\\`');
    expect(text).not.toMatch(/<script/i);

    const json = await cli([String(runId), '--format', 'html', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { runId: number; format: string; out: null; text: string; bytes: number };
    expect(doc).toMatchObject({ runId, format: 'html', out: null });
    expect(doc.text.startsWith('<!doctype html>')).toBe(true);
    expect(doc.bytes).toBe(Buffer.byteLength(doc.text));

    // Usage and bad input: a missing format is a usage error; an existing --out is not overwritten.
    expect((await cli([String(runId)])).code).toBe(2);
    const again = await cli([String(runId), '--format', 'md', '--out', md]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('already exists');
    expect(readFileSync(md, 'utf8')).toBe(text);
    const missing = await cli(['99999', '--format', 'md', '--json']);
    expect(missing.code).toBe(3);
    expect(() => JSON.parse(missing.stdout)).not.toThrow();
    expect(existsSync(path.join(dir, 'none'))).toBe(false);
  }, 300_000);
});
