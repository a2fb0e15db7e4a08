/**
 * The report renderers on a run written out by hand: a recipe comparison and
 * corpus metrics as the `corpus` work records them (issue 16, items 2-3),
 * hostile names and values escaped in both formats, the Pareto front, a run
 * without memory samples. The e2e test (test/e2e/run-report.e2e.test.ts)
 * exports a real run from a real SQLite history.
 */
import { describe, expect, it } from 'vitest';
import type { RunDetail } from '../../common/runs.js';
import { exportReport } from './index.js';
import { paretoFront } from './sections.js';

const stage = (idx: number, kind: string, result: Record<string, unknown> | null) => ({
  id: idx + 1, runId: 7, idx, kind, status: 'succeeded', params: { out: '/tmp/<x>' }, startedAt: 1000, finishedAt: 61_000, progress: 1, phase: null, message: null, exitCode: 0, error: null, result, peakRssBytes: 3 * 1024 ** 3, reusedFromStageId: null,
});

function corpus(meanKld: number, top1: number) {
  return {
    source: { path: '/c/<corpus>.txt', builtIn: false, format: 'text', documents: 1 }, corpusTokens: 2048, windows: 4, windowTokens: 512, tokens: 2044,
    meanKld, medianKld: meanKld / 2, p99Kld: meanKld * 5, maxKld: meanKld * 9, top1Agreement: top1, pplReference: 10, pplBundle: 10.1, pplRatio: 1.01, rmsDeltaP: 0.01, meanDeltaP: 0,
    kldByPosition: [0.001, 0.003, 0.002], kldStride: 1, windowStarts: [0], referenceSeconds: 3, bundleSeconds: 9,
  };
}

function recipe(name: string, mib: number, meanKld: number, top1: number, tps: number) {
  return { recipe: name, tflite: `/o/${name}.tflite`, bundle: `/o/${name}.litertlm`, bytes: mib * 1024 ** 2, tfliteBytes: mib * 1024 ** 2, deviceBytes: mib * 1.2 * 1024 ** 2, corpus: corpus(meanKld, top1), greedyMatches: 4, prompts: 4, decodeTokensPerSecond: tps, convertSeconds: 10, error: null };
}

function evaluation() {
  return {
    modelDir: '/m', bundlePath: '/b.litertlm', referenceBackend: 'plain', engineVersion: '0.17.1', maxTokens: 8, prompts: [],
    summary: { prompts: 0, bundleMatches: 0, greedyMatches: 0, bundleNeverStopped: 0, referenceStopped: 0, loops: 0, verdict: 'match', causes: [], text: 'ok', numeric: null },
    failingChecks: [], bundleFacts: null, corpus: corpus(0.002, 0.98),
  };
}

const run = {
  id: 7, name: 'recipes <img src=x onerror=alert(1)>', status: 'succeeded', model: '/m', isSelftest: false, stageKinds: ['recipes'], keyParams: {}, createdAt: 0, startedAt: 1000, finishedAt: 61_000, peakRssBytes: 3 * 1024 ** 3, peakSysUsedBytes: null, parentRunId: null, currentStage: null,
  plan: { stages: [] }, host: { hostname: 'h', platform: 'linux', release: '', arch: 'x64', cpuModel: '', cpuCount: 2, totalMemBytes: 24 * 1024 ** 3, nodeVersion: '', appVersion: '0.1.0' },
  overrides: { preflight: [{ memoryEstimate: { peakBytes: { expected: 2 * 1024 ** 3, high: 4 * 1024 ** 3 } } }] },
  stages: [
    stage(0, 'recipes', {
      recipes: {
        modelDir: '/m', outDir: '/o', kvCacheMaxLen: 1024, prefillSeqLens: [32], maxKld: 0.01, referenceBackend: 'plain',
        recipes: [recipe('none', 400, 0, 1, 30), recipe('dynamic_int8', 120, 0.002, 0.98, 45), recipe('weight_only_int8', 130, 0.003, 0.97, 40)],
        recommended: 'dynamic_int8',
        reason: 'the smallest bundle whose mean KLD stays within 0.01 | <b>',
        pareto: ['none', 'dynamic_int8'],
      },
    }),
    stage(1, 'evaluate', { evaluation: evaluation() }),
    stage(2, 'package', { outPath: '/out/<b>.litertlm', sizeBytes: 5 }),
  ],
  artifacts: [], metrics: [], logCount: 0,
} as unknown as RunDetail;

const source = { getRun: () => run, memorySamples: () => [] };

describe('run report', () => {
  it('HTML: recipe table and chart with the Pareto front, corpus metrics and plot, everything escaped, no script', () => {
    const { text, fileName, mimeType } = exportReport(source, 7, 'html', 0);
    expect([fileName, mimeType]).toEqual(['run-7-report.html', 'text/html']);
    expect(text).not.toMatch(/<img|<script/i);
    expect(text).toContain('within 0.01 | &lt;b&gt;');
    expect(text).toContain('recipes &lt;img src=x onerror=alert(1)&gt;');
    expect(text).toContain('data-testid="report-recipes-chart"');
    expect(text).toContain('dynamic_int8 (recommended)');
    expect(text).toContain('data-testid="report-kld-chart"');
    expect(text).toContain('2.0 GiB (up to 4.0 GiB) · measured/predicted 1.50');
    expect(text).toContain('No memory samples were recorded');
    expect(text).toContain('/out/&lt;b&gt;.litertlm');
  });

  it('Markdown: the same sections, table cells that a pipe or markup cannot break', () => {
    const { text } = exportReport(source, 7, 'md', 0);
    expect(text).toContain('## Recipes (stage 1. recipes)');
    expect(text).toContain('Recommended: **dynamic_int8** — the smallest bundle whose mean KLD stays within 0.01 \\| &lt;b&gt;');
    expect(text).toContain('| meanKld | 2.000e-3 |');
    expect(text).toContain('/c/&lt;corpus&gt;.txt (text, 1 document)');
    expect(text).toContain('| outPath | /out/&lt;b&gt;.litertlm |');
    expect(text).not.toMatch(/<img|<b>/);
  });

  it('the Pareto front keeps only recipes no other beats on both size and KLD', () => {
    expect([...paretoFront([{ recipe: 'a', bytes: 4, meanKld: 0 }, { recipe: 'b', bytes: 1, meanKld: 2 }, { recipe: 'c', bytes: 2, meanKld: 3 }, { recipe: 'd', bytes: 2, meanKld: 1 }])].sort()).toEqual(['a', 'b', 'd']);
  });
});
