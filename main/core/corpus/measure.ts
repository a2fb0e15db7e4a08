/**
 * The corpus metrics end to end: cut the corpus into windows that fit the
 * bundle's context, feed each window to the .tflite teacher-forced through
 * its `decode` signature in LiteRT.js (one token at a time from an empty KV
 * cache, exactly what the device's CPU executor does while generating), read
 * the reference's logits of the same positions (one whole-window forward in
 * PyTorch, ./reference.ts) and fold both into the figures of ./metrics.ts.
 * Runs in stage processes only (LiteRT.js is wasm).
 */
import { closeSync, createWriteStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ChatMessage } from '../../common/bundleRun.js';
import type { CorpusMetrics, CorpusOptions, CorpusSource } from '../../common/corpusMetrics.js';
import { WorkbenchError } from '../../common/errors.js';
import { readLitertlmHeader, SectionType, sectionStream } from '../formats/litertlm.js';
import { readTflite, readTfliteAt } from '../formats/tflite.js';
import { DecoderSession } from '../litertjs/decoderSession.js';
import { TfliteModelRunner } from '../litertjs/litertjs.js';
import { PositionLog, positionFigures, summarizePositions } from './metrics.js';
import { readCorpus } from './read.js';
import { runReference, type ReferenceReporter, type ReferenceWindowFile } from './reference.js';
import { cutWindows, tokenizeDocuments } from './windows.js';

export interface PreparedCorpus {
  source: CorpusSource;
  /** Tokens of the whole corpus before the cap. */
  corpusTokens: number;
  windowTokens: number;
  windows: number[][];
  /** Tokens left out by the cap (said in the log). */
  droppedTokens: number;
}

export interface CorpusModel {
  encode(text: string): number[];
  render: ((messages: ChatMessage[], addGenerationPrompt: boolean) => string) | null;
  /** The BOS id when the model has one its template does not write (prefixed to each window), else null. */
  bos: number | null;
}

/** The context a .tflite (or the .tflite inside a bundle) was built for: its KV-cache length. */
export function contextLengthOf(file: string): number {
  let kv: number | null;
  if (/\.litertlm$/i.test(file)) {
    const section = readLitertlmHeader(file).sections.find((s) => s.dataType === SectionType.TFLiteModel);
    if (!section) throw new WorkbenchError('no_tflite_section', `The bundle ${file} holds no TFLite model, so its corpus metrics cannot be measured.`, { path: file });
    const fd = openSync(file, 'r');
    try {
      kv = readTfliteAt(fd, file, section.beginOffset, section.endOffset - section.beginOffset).derived.kvCacheMaxLen;
    } finally {
      closeSync(fd);
    }
  } else {
    kv = readTflite(file).derived.kvCacheMaxLen;
  }
  if (!kv) throw new WorkbenchError('no_kv_cache', `${file} has no KV-cache inputs the workbench recognizes, so it cannot be teacher-forced over a corpus.`, { path: file });
  return kv;
}

/** Reads, tokenizes and windows the corpus for a bundle of context `contextLength`. */
export async function prepareCorpus(options: CorpusOptions, model: CorpusModel, contextLength: number): Promise<PreparedCorpus> {
  const corpus = await readCorpus(options.file);
  let stream: number[];
  try {
    stream = tokenizeDocuments(corpus.documents, model);
  } catch (error) {
    throw new WorkbenchError('bad_corpus', `The corpus ${corpus.source.path} cannot be tokenized: ${(error as Error).message}`, { path: corpus.source.path });
  }
  const corpusTokens = stream.length;
  const used = stream.slice(0, options.maxTokens);
  const windowTokens = Math.min(options.windowTokens, contextLength);
  const windows = cutWindows(used, windowTokens, model.bos);
  if (windows.length === 0) throw new WorkbenchError('bad_corpus', `The corpus ${corpus.source.path} gives ${corpusTokens} token(s), too few to score: give at least a sentence of text.`, { path: corpus.source.path });
  return { source: corpus.source, corpusTokens, windowTokens, windows, droppedTokens: corpusTokens - used.length };
}

/** The .tflite of a bundle as a file in `dir` (reused when an earlier step extracted it). */
export async function extractTflite(bundlePath: string, dir: string): Promise<string> {
  const section = readLitertlmHeader(bundlePath).sections.find((s) => s.dataType === SectionType.TFLiteModel);
  if (!section) throw new WorkbenchError('no_tflite_section', `The bundle ${bundlePath} holds no TFLite model.`, { path: bundlePath });
  const file = path.join(dir, 'model.tflite');
  if (existsSync(file) && statSync(file).size === section.endOffset - section.beginOffset) return file;
  await mkdir(dir, { recursive: true });
  await pipeline(sectionStream(bundlePath, section), createWriteStream(file));
  return file;
}

function readRow(fd: number, file: ReferenceWindowFile, row: number): Float32Array {
  const bytes = file.vocab * 4;
  const buffer = Buffer.alloc(bytes);
  const got = readSync(fd, buffer, 0, bytes, row * bytes);
  if (got !== bytes) throw new WorkbenchError('reference_failed', `The reference logits ${file.logitsPath} end early (row ${row}).`);
  return new Float32Array(buffer.buffer, buffer.byteOffset, file.vocab);
}

export interface BundlePassOptions {
  /** Called after each window with (done, total). */
  onWindow?(done: number, total: number): void;
  /** Tests: write each window's .tflite logits to <dumpDir>/bundle-<i>.f32 (float32 [n−1, vocab]). */
  dumpDir?: string;
  signal?: AbortSignal;
}

/** Teacher-forces the .tflite over every window and scores each position against the reference's row. */
export async function bundleCorpusPass(tflitePath: string, windows: readonly number[][], reference: readonly ReferenceWindowFile[], options: BundlePassOptions = {}): Promise<{ log: PositionLog; seconds: number }> {
  if (reference.length !== windows.length) throw new WorkbenchError('reference_failed', `The reference gave ${reference.length} window(s) for ${windows.length}.`);
  const runner = await TfliteModelRunner.open(new Uint8Array(await readFile(tflitePath)));
  const log = new PositionLog();
  let seconds = 0;
  try {
    const session = DecoderSession.create(runner);
    if (options.dumpDir) await mkdir(options.dumpDir, { recursive: true });
    for (let w = 0; w < windows.length; w++) {
      if (options.signal?.aborted) throw new WorkbenchError('cancelled', 'The corpus pass was cancelled.');
      const ids = windows[w]!;
      const ref = reference[w]!;
      if (ids.length > session.contextLength) throw new WorkbenchError('bad_params', `Window ${w} (${ids.length} tokens) does not fit the model's context (${session.contextLength}).`);
      if (ref.rows !== ids.length - 1) throw new WorkbenchError('reference_failed', `The reference gave ${ref.rows} rows for window ${w} of ${ids.length} tokens.`);
      session.reset();
      log.startWindow();
      const fd = openSync(ref.logitsPath, 'r');
      const dump = options.dumpDir ? createWriteStream(path.join(options.dumpDir, `bundle-${w}.f32`)) : null;
      try {
        for (let p = 0; p < ids.length - 1; p++) {
          const started = performance.now();
          const logits = await session.decode(ids[p]!);
          seconds += (performance.now() - started) / 1000;
          if (dump) dump.write(Buffer.from(logits.buffer.slice(logits.byteOffset, logits.byteOffset + logits.byteLength)));
          log.push(positionFigures(readRow(fd, ref, p), logits, ids[p + 1]!));
        }
      } finally {
        closeSync(fd);
        if (dump) await new Promise<void>((resolve, reject) => dump.end((error?: Error | null) => (error ? reject(error) : resolve())));
      }
      options.onWindow?.(w + 1, windows.length);
    }
  } finally {
    runner.close();
  }
  return { log, seconds };
}

export interface CorpusRunReporter extends ReferenceReporter {
  metric?(name: string, value: number, unit?: string): void;
}

export interface EvaluateCorpusOptions {
  options: CorpusOptions;
  model: CorpusModel;
  modelDir: string;
  bundlePath: string;
  python: string | null;
  workDir: string;
  backend?: 'transformers' | 'plain';
  reporter: CorpusRunReporter;
  /** Keep the reference's window logits (tests); by default they are removed once used. */
  keepLogits?: boolean;
  dumpDir?: string;
}

/** The corpus metrics of one bundle (the evaluate stage's `--corpus`): prepare, reference, bundle pass, summary. */
export async function corpusMetricsForBundle(o: EvaluateCorpusOptions): Promise<CorpusMetrics> {
  const { reporter } = o;
  const prepared = await prepareCorpus(o.options, o.model, contextLengthOf(o.bundlePath));
  describePrepared(prepared, reporter);
  const refDir = path.join(o.workDir, 'corpus-reference');
  reporter.progress(0, 'corpus reference', `PyTorch over ${prepared.windows.length} window(s), one forward pass each`);
  const reference = await runReference(o.python, { modelDir: o.modelDir, prompts: [], maxNewTokens: 1, stopIds: [], windows: prepared.windows, outDir: refDir, ...(o.backend ? { backend: o.backend } : {}) }, {
    progress: (fraction, _phase, message) => reporter.progress(fraction === null ? null : 0.4 * fraction, 'corpus reference', message),
    log: reporter.log,
  });
  try {
    const tflite = await extractTflite(o.bundlePath, o.workDir);
    reporter.progress(0.4, 'corpus bundle', 'LiteRT.js teacher-forced over the same windows');
    const pass = await bundleCorpusPass(tflite, prepared.windows, reference.windows, {
      onWindow: (done, total) => reporter.progress(0.4 + (0.6 * done) / total, 'corpus bundle', `Window ${done} of ${total}`),
      ...(o.dumpDir ? { dumpDir: o.dumpDir } : {}),
    });
    const metrics = summarizePositions(pass.log, {
      source: prepared.source,
      corpusTokens: prepared.corpusTokens,
      windows: prepared.windows.length,
      windowTokens: prepared.windowTokens,
      referenceSeconds: reference.windowSeconds,
      bundleSeconds: pass.seconds,
    });
    await writePositions(path.join(o.workDir, 'corpus-positions.json'), pass.log);
    return metrics;
  } finally {
    if (!o.keepLogits) await rm(refDir, { recursive: true, force: true });
  }
}

export function describePrepared(prepared: PreparedCorpus, reporter: Pick<ReferenceReporter, 'log'>): void {
  const scored = prepared.windows.reduce((s, w) => s + w.length - 1, 0);
  reporter.log(
    'info',
    `Corpus ${prepared.source.builtIn ? '(built-in) ' : ''}${prepared.source.path}: ${prepared.source.documents} document(s), ${prepared.corpusTokens} tokens; ${prepared.windows.length} window(s) of up to ${prepared.windowTokens} tokens, ${scored} scored positions.`,
  );
  if (prepared.droppedTokens > 0) reporter.log('info', `The last ${prepared.droppedTokens} tokens of the corpus are left out (the cap is ${prepared.corpusTokens - prepared.droppedTokens}).`);
}

/** Every position's figures, for a reader who wants more than the summary (the stage's artifact). */
export async function writePositions(file: string, log: PositionLog): Promise<void> {
  await writeFile(file, `${JSON.stringify({ windowStarts: log.windowStarts, kld: log.kld, top1Agree: log.agree, logpReference: log.logpReference, logpBundle: log.logpBundle })}\n`);
}
