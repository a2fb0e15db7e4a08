/**
 * Corpus metrics (issue 16, item 2) on the demonstration model (a tiny Qwen2
 * chat model trained here), converted natively as float and as dynamic_int8
 * and packaged: real tokenizer, real PyTorch reference (plain_lm.py, whole
 * windows in one forward), real LiteRT.js. The figures are checked against
 * an independent numpy computation from the raw logits on both sides
 * (test/fixtures/corpus/corpus_check.py), the whole-window reference against
 * plain_lm's own step-by-step forward, and the float bundle against the int8
 * one (≈ 0 vs clearly > 0). Bad corpora through the CLI: exit 3, one sentence.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorpusMetrics } from '../main/common/corpusMetrics.js';
import { corpusMetricsForBundle, prepareCorpus, type CorpusModel } from '../main/core/corpus/measure.js';
import { modelIntent } from '../main/core/fidelity/intent.js';
import { loadModelSide } from '../main/core/fidelity/load.js';
import { convertNative } from '../main/core/nativeConvert/convertModel.js';
import { packageModel } from '../main/core/packager/package.js';
import { CLI } from './helpers/serve.js';
import { writeDemoBundles, type DemoBundles } from './support/demoModel.js';
import { REPO, TEST_PYTHON } from './support/python.js';
import { referenceLogits } from './support/referenceLm.js';

const run = promisify(execFile);
let dir: string;
let demo: DemoBundles;
let floatBundle: string;
let int8Bundle: string;
let model: CorpusModel;
const OPTIONS = { maxTokens: 300, windowTokens: 64 };
const quiet = { progress: () => undefined, log: () => undefined };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'corpus-metrics-'));
  demo = await writeDemoBundles(dir);
  floatBundle = path.join(dir, 'float.litertlm');
  await packageModel({ tflitePath: demo.tflite, modelDir: demo.modelDir, outPath: floatBundle });
  const int8 = path.join(dir, 'int8.tflite');
  await convertNative({ modelDir: demo.modelDir, outPath: int8, quantize: 'dynamic_int8', kvCacheMaxLen: 128, prefillSeqLens: [8, 32], kvLayout: 'btnh' });
  int8Bundle = path.join(dir, 'int8.litertlm');
  await packageModel({ tflitePath: int8, modelDir: demo.modelDir, outPath: int8Bundle });
  const side = await loadModelSide(demo.modelDir);
  const intent = modelIntent(side);
  model = { encode: (t) => side.tokenizer!.encode(t), render: side.render, bos: intent.bos && !intent.templateWritesBos ? intent.bos.id : null };
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function measure(bundle: string, label: string): Promise<{ metrics: CorpusMetrics; workDir: string; dump: string }> {
  const workDir = path.join(dir, label);
  const dump = path.join(workDir, 'dump');
  const metrics = await corpusMetricsForBundle({ options: OPTIONS, model, modelDir: demo.modelDir, bundlePath: bundle, python: TEST_PYTHON, workDir, reporter: quiet, keepLogits: true, dumpDir: dump });
  return { metrics, workDir, dump };
}

describe('corpus metrics on the demonstration model', () => {
  let float: Awaited<ReturnType<typeof measure>>;

  it('match an independent numpy computation from the raw logits of both sides', async () => {
    float = await measure(floatBundle, 'float');
    const prepared = await prepareCorpus({ ...OPTIONS }, model, 128);
    const m = float.metrics;
    expect(m.source.builtIn).toBe(true);
    expect(m.windows).toBe(prepared.windows.length);
    expect(m.windowTokens).toBe(64);
    expect(m.tokens).toBe(prepared.windows.reduce((s, w) => s + w.length - 1, 0));
    expect(m.corpusTokens).toBeGreaterThan(800);
    const spec = {
      windows: prepared.windows,
      referenceFiles: prepared.windows.map((_, i) => path.join(float.workDir, 'corpus-reference', `window-${i}.f32`)),
      bundleFiles: prepared.windows.map((_, i) => path.join(float.dump, `bundle-${i}.f32`)),
    };
    writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
    const expected = JSON.parse(execFileSync(TEST_PYTHON, [path.join(REPO, 'test', 'fixtures', 'corpus', 'corpus_check.py'), path.join(dir, 'spec.json')], { encoding: 'utf8' })) as Record<string, number>;
    expect(m.tokens).toBe(expected.tokens);
    for (const key of ['pplReference', 'pplBundle', 'top1Agreement'] as const) expect(m[key]).toBeCloseTo(expected[key]!, 6);
    for (const key of ['meanKld', 'medianKld', 'p99Kld', 'rmsDeltaP'] as const) expect(Math.abs(m[key] - expected[key]!)).toBeLessThanOrEqual(1e-9 + 1e-4 * expected[key]!);
  }, 300_000);

  it('the reference runs whole windows in one forward pass, equal to plain_lm step by step', async () => {
    const prepared = await prepareCorpus({ ...OPTIONS }, model, 128);
    const w = prepared.windows[1]!;
    // plain_lm's step-by-step mode recomputes the prefix at each step: the first 12 positions suffice.
    const steps = 12;
    const stepwise = await referenceLogits(demo.modelDir, [w[0]!], steps, { force: w.slice(1, steps) });
    const raw = readFileSync(path.join(float.workDir, 'corpus-reference', 'window-1.f32'));
    const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const vocab = stepwise.logits[0]!.length;
    expect(all.length).toBe((w.length - 1) * vocab);
    let max = 0;
    for (let p = 0; p < steps; p++) for (let i = 0; i < vocab; i += 7) max = Math.max(max, Math.abs(all[p * vocab + i]! - stepwise.logits[p]![i]!));
    expect(max).toBeLessThan(1e-4);
  }, 120_000);

  it('is ~0 for the float bundle and clearly > 0 for dynamic_int8', async () => {
    const f = float.metrics;
    expect(f.meanKld).toBeLessThan(1e-6);
    expect(f.top1Agreement).toBeGreaterThan(0.99);
    expect(Math.abs(f.pplRatio - 1)).toBeLessThan(1e-3);
    const q = (await measure(int8Bundle, 'int8')).metrics;
    console.log(`demo model, ${f.tokens} positions: float mean KLD ${f.meanKld.toExponential(2)} top-1 ${f.top1Agreement}; dynamic_int8 mean KLD ${q.meanKld.toExponential(3)} top-1 ${q.top1Agreement.toFixed(4)} ppl ratio ${q.pplRatio.toFixed(4)}`);
    // A hidden size of 64 quantizes gently (per-row int8 over 64 values), so the int8 KLD is small but far from 0.
    expect(q.meanKld).toBeGreaterThan(1e-6);
    expect(q.meanKld).toBeGreaterThan(100 * f.meanKld);
    expect(q.rmsDeltaP).toBeGreaterThan(f.rmsDeltaP);
  }, 300_000);
});

describe('workbench evaluate --corpus', () => {
  const cli = (args: string[]) => run(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), 'evaluate', '--model', demo.modelDir, '--bundle', floatBundle, ...args], { maxBuffer: 1 << 26 }).then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }), (e: { code: number; stdout: string; stderr: string }) => e);

  it('refuses a bad corpus with one sentence and exit 3', async () => {
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '');
    const binary = path.join(dir, 'binary.txt');
    writeFileSync(binary, Buffer.from([0x48, 0x69, 0x00, 0xff, 0x10]));
    const jsonl = path.join(dir, 'bad.jsonl');
    writeFileSync(jsonl, '{"text": "A first document."}\n\n{"txt": "a typo"}\n');
    const fifo = path.join(dir, 'pipe.txt');
    execFileSync('mkfifo', [fifo]);
    const cases: [string, RegExp][] = [
      [empty, /The corpus .*empty\.txt is empty/],
      [binary, /is not UTF-8 text \(a NUL byte at offset 2\)/],
      [jsonl, /Line 3 of the corpus .*bad\.jsonl is not a document/],
      [fifo, /pipe\.txt is a named pipe \(FIFO\), not a file/],
      [path.join(dir, 'missing.txt'), /The corpus .*missing\.txt cannot be read \(ENOENT\)/],
    ];
    for (const [file, message] of cases) {
      const r = await cli(['--corpus', file]);
      expect(r.code, file).toBe(3);
      expect(r.stderr).toMatch(message);
      const j = await cli(['--corpus', file, '--json']);
      expect(j.code).toBe(3);
      expect(JSON.parse(j.stdout).error.message).toMatch(message);
    }
    const both = await cli(['--corpus', empty, '--default-corpus']);
    expect(both.code).toBe(2);
  }, 120_000);

  it('--json gains the corpus figures', async () => {
    const corpus = path.join(dir, 'chat.jsonl');
    writeFileSync(corpus, `${JSON.stringify({ messages: [{ role: 'user', content: 'What is the capital of France?' }, { role: 'assistant', content: 'The capital of France is Paris.' }] })}\n${JSON.stringify({ text: 'It is a truth universally acknowledged.' })}\n`);
    const r = await cli(['--corpus', corpus, '--max-tokens', '8', '--json']);
    const out = JSON.parse(r.stdout) as { corpus: CorpusMetrics };
    expect(Object.keys(out.corpus)).toEqual(expect.arrayContaining(['tokens', 'meanKld', 'medianKld', 'p99Kld', 'top1Agreement', 'pplReference', 'pplBundle', 'pplRatio', 'rmsDeltaP']));
    expect(out.corpus.source).toMatchObject({ format: 'jsonl', documents: 2, builtIn: false });
    expect(out.corpus.meanKld).toBeLessThan(1e-6);
    // The trained answer is what the model predicts: the reference is confident on it.
    expect(out.corpus.pplReference).toBeLessThan(1e4);
  }, 300_000);
});
