/**
 * Compare quantizations (issue 16, item 3) end to end on the demonstration
 * model: `workbench recipes --json` (real native conversion, real packaging,
 * real PyTorch reference, real LiteRT.js and LiteRT-LM engine), its
 * recommendation checked against the rule applied by the test itself to the
 * figures it printed; then the same from the wizard page in headless
 * Chromium: start, watch, table, chart (screenshots), open a row in Try.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecipesResult } from '../../main/common/recipes.js';
import type { RunDetail } from '../../main/common/runs.js';
import { openApp, SHOTS } from '../helpers/browser.js';
import { api, CLI, REPO_ROOT, waitFor, type ServeProcess } from '../helpers/serve.js';
import { writeDemoBundles } from '../support/demoModel.js';

const run = promisify(execFile);
let server: ServeProcess;
let browser: Browser;
let page: Page;
let dir: string;
let modelDir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'recipes-e2e-'));
  ({ modelDir } = await writeDemoBundles(path.join(dir, 'demo')));
  ({ server, browser, page } = await openApp({ viewport: { width: 1400, height: 1100 } }));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('workbench recipes', () => {
  it('measures each recipe and recommends by the rule', async () => {
    const out = path.join(dir, 'cli-out');
    const r = await run(process.execPath, [CLI, '--data-dir', server.dataDir, 'recipes', '--model', modelDir, '--out', out, '--recipes', 'none,fp16,dynamic_int8', '--kv', '128', '--corpus-tokens', '128', '--max-tokens', '16', '--json'], { maxBuffer: 1 << 26 });
    const result = JSON.parse(r.stdout) as RecipesResult & { runId: number };
    expect(result.recipes.map((x) => x.recipe)).toEqual(['none', 'fp16', 'dynamic_int8']);
    for (const x of result.recipes) {
      expect(x.error).toBeNull();
      expect(x.bytes).toBe(statSync(x.bundle).size);
      expect(existsSync(x.tflite)).toBe(true);
      expect(x.deviceBytes).toBeGreaterThan(0);
      // One window of the KV cache's 128 tokens (the first token of a window has no prediction).
      expect(x.corpus!.tokens).toBe(127);
      expect(Object.keys(x.corpus!)).toEqual(expect.arrayContaining(['meanKld', 'top1Agreement', 'pplRatio']));
      expect(x.prompts).toBe(4);
      // The demonstration model answers its four prompts the same in every recipe.
      expect(x.greedyMatches).toBe(4);
      expect(x.decodeTokensPerSecond).toBeGreaterThan(0);
    }
    const [none, fp16, int8] = result.recipes;
    expect(none!.corpus!.meanKld).toBeLessThan(1e-8);
    expect(int8!.corpus!.meanKld).toBeGreaterThan(none!.corpus!.meanKld);
    expect(int8!.bytes).toBeLessThan(fp16!.bytes);
    expect(fp16!.bytes).toBeLessThan(none!.bytes);
    // The rule, applied here: the smallest bundle whose mean KLD ≤ 0.01.
    const within = result.recipes.filter((x) => x.corpus!.meanKld <= 0.01).sort((a, b) => a.bytes - b.bytes);
    expect(result.recommended).toBe(within[0]!.recipe);
    expect(result.reason).toMatch(/^dynamic_int8 is the smallest bundle \(.+ MiB\) whose mean KLD \(.+ nats\) stays within 0\.01\.$/);
    const detail = await api<RunDetail>(server, 'runs.get', { id: result.runId });
    expect(detail.stages[0]!.kind).toBe('recipes');
  }, 1_200_000);

  it('refuses a bad corpus and an unknown recipe', async () => {
    const bad = await run(process.execPath, [CLI, '--data-dir', server.dataDir, 'recipes', '--model', modelDir, '--out', path.join(dir, 'x'), '--corpus', path.join(dir, 'nope.txt'), '--json']).catch((e: { code: number; stdout: string }) => e);
    expect((bad as { code: number }).code).toBe(3);
    expect(JSON.parse((bad as { stdout: string }).stdout).error.message).toMatch(/The corpus .*nope\.txt cannot be read/);
    const unknown = await run(process.execPath, [CLI, '--data-dir', server.dataDir, 'recipes', '--model', modelDir, '--out', path.join(dir, 'x'), '--recipes', 'int3']).catch((e: { code: number; stderr: string }) => e);
    expect((unknown as { code: number }).code).toBe(2);
    expect((unknown as { stderr: string }).stderr).toContain('int3 is not one the native converter builds');
  }, 120_000);

  it('the wizard page starts a comparison; the run page shows the table and chart; a row opens Try', async () => {
    await page.goto(server.openUrl);
    await page.click('[data-testid=nav-recipes]');
    await page.waitForSelector('[data-testid=recipes-page]');
    await page.fill('[data-testid=recipes-model]', modelDir);
    await page.fill('[data-testid=recipes-out]', path.join(dir, 'ui-out'));
    await page.uncheck('[data-testid=recipes-pick-fp16]');
    await page.uncheck('[data-testid=recipes-pick-weight_only_int8]');
    // int4 is offered too since the native converter has it; this test compares none with dynamic_int8.
    await page.uncheck('[data-testid=recipes-pick-dynamic_int4_block32]');
    await page.uncheck('[data-testid=recipes-pick-dynamic_int4_block128]');
    await page.fill('[data-testid=recipes-kv]', '128');
    await page.fill('[data-testid=recipes-corpus-tokens]', '128');
    await page.screenshot({ path: path.join(SHOTS, 'recipes-form.png'), fullPage: true });
    await page.click('[data-testid=recipes-start]');
    await page.waitForSelector('[data-testid=recipes-panel]', { timeout: 1_100_000 });
    expect(await page.getAttribute('[data-testid=recipes-panel]', 'data-recommended')).toBe('dynamic_int8');
    expect(await page.locator('[data-testid=recipes-table] tbody tr').count()).toBe(2);
    expect(await page.getAttribute('[data-testid=recipes-row-dynamic_int8]', 'data-recommended')).toBe('true');
    await page.waitForSelector('[data-testid=recipes-chart] [data-testid=recipes-point-none]');
    await page.locator('[data-testid=recipes-panel]').screenshot({ path: path.join(SHOTS, 'recipes-panel.png') });
    await page.click('[data-testid=recipes-try-dynamic_int8]');
    await page.waitForFunction(() => window.location.hash.startsWith('#/try?bundle='));
    expect(decodeURIComponent(await page.evaluate(() => window.location.hash))).toContain(path.join('ui-out', 'dynamic_int8'));
    mkdirSync(path.join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
    if (process.env.WORKBENCH_UPDATE_SCREENSHOTS) copyFileSync(path.join(SHOTS, 'recipes-panel.png'), path.join(REPO_ROOT, 'docs', 'screenshots', 'recipes-panel.png'));
  }, 1_200_000);
});
