/**
 * The behaviour check, end to end (the evaluate stage's body): render each
 * prompt with the model's own chat template and tokenize it; get the source
 * model's greedy answers and logits in PyTorch (python-env/stages/
 * reference_answers.py: transformers when installed, else plain_lm.py);
 * get the bundle's answers from LiteRT-LM's engine, with its own metadata and
 * greedy; run the .tflite teacher-forced on the reference's tokens through
 * LiteRT.js and compare logits; measure what the runtime is fed against the
 * model's prompt (promptInputs.ts); rank the causes of every difference by
 * that evidence and the fidelity checks (causes.ts). Runs inside the stage process (the engine
 * and LiteRT.js are wasm: never in the workbench's own process).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LITERT_LM_JS_VERSION, type ChatResult } from '../../common/bundleRun.js';
import { WorkbenchError } from '../../common/errors.js';
import type { Answer, EvaluateParams, EvaluateResult, PromptNumeric, PromptOutcome } from '../../common/stages/evaluate.js';
import { BundleRunnerHost } from '../bundleRunner/host.js';
import { analyze, loadAnalysisInput } from '../fidelity/analyze.js';
import { modelIntent } from '../fidelity/intent.js';
import { readLitertlmHeader, SectionType, sectionStream } from '../formats/litertlm.js';
import { DecoderSession } from '../litertjs/decoderSession.js';
import { TfliteModelRunner } from '../litertjs/litertjs.js';
import { corpusMetricsForBundle } from '../corpus/measure.js';
import { runReference, type ReferenceAnswerFile, type ReferenceRequest } from '../corpus/reference.js';
import type { CorpusMetrics } from '../../common/corpusMetrics.js';
import { compareLogits, divergence, repetitionShare, summarize } from './compare.js';
import { BUILT_IN_PROMPTS, readPromptsFile, type EvalPrompt } from './prompts.js';
import { bundleFacts, promptInput } from './promptInputs.js';

export interface EvaluateReporter {
  progress(fraction: number | null, phase: string, message?: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', text: string): void;
  metric(name: string, value: number, unit?: string): void;
}

type ReferenceAnswer = ReferenceAnswerFile;

export async function runEvaluation(params: EvaluateParams, options: { python: string | null; workDir: string; reporter: EvaluateReporter }): Promise<EvaluateResult> {
  const { reporter, workDir } = options;
  await mkdir(workDir, { recursive: true });
  const modelDir = path.resolve(params.modelDir);
  const bundlePath = path.resolve(params.bundlePath);
  // A file that is not a bundle is refused now, not after the reference answers (seconds to minutes of PyTorch).
  readLitertlmHeader(bundlePath);
  const prompts: EvalPrompt[] = [...(params.onlyPromptsFile ? [] : BUILT_IN_PROMPTS), ...(params.promptsFile ? await readPromptsFile(path.resolve(params.promptsFile)) : [])];
  if (prompts.length === 0) throw new WorkbenchError('bad_prompts', 'There are no prompts to evaluate: give a prompts file or keep the built-in prompts.');

  reporter.progress(0.02, 'prompts', 'Rendering the prompts with the model\'s chat template');
  // Both sides once: the model's prompts, the fidelity checklist and what the runtime is fed come from the same reading.
  const analysis = await loadAnalysisInput({ modelDir, bundlePath });
  const model = analysis.model;
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new WorkbenchError('no_tokenizer', `The model folder ${modelDir} has no tokenizer.json the workbench can reproduce${model.tokenizerProblem ? `: ${model.tokenizerProblem}` : ''}.`);
  if (!model.render) throw new WorkbenchError('no_chat_template', `The model folder ${modelDir} has no usable chat template${model.renderProblem ? ` (${model.renderProblem})` : ''}, so prompts cannot be rendered the way the model was trained.`);
  const intent = modelIntent(model);
  const stopIds = [...new Set([...intent.eosIds, ...(intent.endOfTurn ? [intent.endOfTurn.id] : [])])];
  const promptTexts = prompts.map((p) => model.render!(p.messages, true));
  const promptIds = promptTexts.map((text) => {
    const ids = tokenizer.encode(text);
    return intent.bos && !intent.templateWritesBos ? [intent.bos.id, ...ids] : ids;
  });
  const inputs = prompts.map((p, i) => promptInput(analysis, p.messages, promptTexts[i]!, promptIds[i]!));
  const facts = bundleFacts(analysis);

  reporter.progress(0.05, 'reference', 'Reference answers of the source model (PyTorch)');
  const reference = await referenceAnswers(options.python, { modelDir, prompts: promptIds, maxNewTokens: params.maxTokens, stopIds, outDir: path.join(workDir, 'reference'), ...(params.reference !== 'auto' ? { backend: params.reference } : {}) }, reporter);

  reporter.progress(0.35, 'fidelity', 'Fidelity checklist');
  const report = analyze(analysis);
  const failingChecks = report.items.filter((i) => i.status !== 'pass').map((i) => ({ id: i.id, status: i.status, explanation: i.explanation }));

  const host = new BundleRunnerHost({ onLog: (line) => reporter.log('debug', line) });
  const bundleAnswers: { own: Answer; greedy: Answer }[] = [];
  try {
    for (let i = 0; i < prompts.length; i++) {
      reporter.progress(0.4 + (0.4 * i) / prompts.length, 'bundle', `Prompt ${i + 1} of ${prompts.length} in LiteRT-LM ${LITERT_LM_JS_VERSION}`);
      const own = await bundleAnswer(host, bundlePath, prompts[i]!, params.maxTokens, false, tokenizer.encode.bind(tokenizer));
      const greedy = await bundleAnswer(host, bundlePath, prompts[i]!, params.maxTokens, true, tokenizer.encode.bind(tokenizer));
      bundleAnswers.push({ own: own.answer, greedy: greedy.answer });
    }
  } finally {
    await host.close();
  }

  let numeric: (PromptNumeric | null)[] = prompts.map(() => null);
  if (params.numeric) {
    reporter.progress(0.82, 'numeric', 'Teacher-forced comparison of the .tflite (LiteRT.js) with the reference');
    numeric = await teacherForced(bundlePath, workDir, promptIds, reference, reporter);
  }

  let corpus: CorpusMetrics | null = null;
  if (params.corpus) {
    // Corpus metrics (main/core/corpus): KLD, top-1, perplexity ratio over a text corpus.
    corpus = await corpusMetricsForBundle({
      options: params.corpus,
      model: { encode: tokenizer.encode.bind(tokenizer), render: model.render, bos: intent.bos && !intent.templateWritesBos ? intent.bos.id : null },
      modelDir,
      bundlePath,
      python: options.python,
      workDir,
      ...(params.reference !== 'auto' ? { backend: params.reference } : {}),
      reporter: { progress: (f, phase, message) => reporter.progress(f === null ? null : 0.86 + 0.13 * f, phase, message), log: (level, text) => reporter.log(level, text) },
    });
  }

  const outcomes: PromptOutcome[] = prompts.map((p, i) => {
    const ref = reference[i]!;
    const answerIds = ref.stopped ? ref.tokens.slice(0, -1) : ref.tokens;
    const pieces = answerIds.map((id) => tokenizer.decode([id]));
    const refText = tokenizer.decode(answerIds);
    const refAnswer: Answer = {
      text: refText,
      stopped: ref.stopped,
      stopToken: ref.stopId !== null ? tokenizer.decode([ref.stopId]) : null,
      stopReason: ref.stopped ? 'stop-token' : 'max-tokens',
      tokens: answerIds.length,
      repetition: repetitionShare(answerIds),
      error: null,
    };
    const { own, greedy } = bundleAnswers[i]!;
    return {
      index: i,
      label: p.label,
      messages: p.messages,
      reference: refAnswer,
      bundle: own,
      greedy,
      firstDivergence: own.error ? { token: 0, char: 0 } : divergence(answerIds, pieces, refText, own.text),
      greedyDivergence: greedy.error ? { token: 0, char: 0 } : divergence(answerIds, pieces, refText, greedy.text),
      repetition: own.repetition,
      numeric: numeric[i] ?? null,
      input: inputs[i]!,
      cause: null,
    };
  });
  const { summary, perPrompt } = summarize(outcomes, failingChecks, facts);
  outcomes.forEach((o, i) => (o.cause = perPrompt[i] ?? null));
  // The stage's closing note (the run page shows the last message): the verdict, not the last step's title.
  const latent = summary.verdict === 'latent' ? '; a latent finding remains' : '';
  reporter.progress(1, 'done', `${summary.bundleMatches} of ${summary.prompts} answers match the reference${latent}.`);
  return {
    modelDir,
    bundlePath,
    referenceBackend: referenceBackendName,
    engineVersion: LITERT_LM_JS_VERSION,
    maxTokens: params.maxTokens,
    prompts: outcomes,
    summary,
    failingChecks,
    bundleFacts: facts,
    corpus,
  };
}

let referenceBackendName = 'unknown';

async function bundleAnswer(
  host: BundleRunnerHost,
  bundlePath: string,
  prompt: EvalPrompt,
  maxTokens: number,
  greedy: boolean,
  encode: (text: string) => number[],
): Promise<{ answer: Answer; stopTokens: string[] }> {
  let result: ChatResult;
  try {
    result = await host.chat({ bundlePath, messages: prompt.messages, options: { greedy, maxTokens, raw: false } });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { answer: { text: '', stopped: false, stopToken: null, stopReason: 'error', tokens: 0, repetition: 0, error: message }, stopTokens: [] };
  }
  const stopped = result.stopReason === 'stop-token';
  return {
    answer: {
      text: result.text,
      stopped,
      stopToken: stopped ? result.stopTokens.join(' or ') || null : null,
      stopReason: result.stopReason,
      // The engine's decode count includes the stop token; the reference's answer length does not.
      tokens: stopped ? Math.max(0, result.tokens - 1) : result.tokens,
      repetition: repetitionShare(encode(result.text)),
      error: null,
    },
    stopTokens: result.stopTokens,
  };
}

/** The source model's greedy answers from reference_answers.py (the one runner corpus metrics and recipes use too). */
async function referenceAnswers(python: string | null, request: Omit<ReferenceRequest, 'windows'>, reporter: EvaluateReporter): Promise<ReferenceAnswer[]> {
  const out = await runReference(python, { ...request, windows: [] }, {
    log: (level, text) => reporter.log(level, text),
    progress: (fraction, _phase, message) => {
      if (fraction !== null) reporter.progress(0.05 + 0.3 * fraction, 'reference', message);
    },
  });
  referenceBackendName = out.backend;
  reporter.log('info', `Reference answers from ${out.backend}.`);
  return out.answers;
}

async function teacherForced(bundlePath: string, workDir: string, promptIds: number[][], reference: ReferenceAnswer[], reporter: EvaluateReporter): Promise<(PromptNumeric | null)[]> {
  const header = readLitertlmHeader(bundlePath);
  const section = header.sections.find((s) => s.dataType === SectionType.TFLiteModel);
  if (!section) {
    reporter.log('warn', 'The bundle has no TFLiteModel section; the numeric comparison is skipped.');
    return promptIds.map(() => null);
  }
  const file = path.join(workDir, 'model.tflite');
  await pipeline(sectionStream(bundlePath, section), createWriteStream(file));
  let runner: TfliteModelRunner;
  try {
    runner = await TfliteModelRunner.open(new Uint8Array(await readFile(file)));
  } catch (error) {
    reporter.log('warn', `The numeric comparison is skipped: ${(error as Error).message}`);
    return promptIds.map(() => null);
  }
  try {
    let session: DecoderSession;
    try {
      session = DecoderSession.create(runner);
    } catch (error) {
      reporter.log('warn', `The numeric comparison is skipped: ${(error as Error).message}`);
      return promptIds.map(() => null);
    }
    const out: (PromptNumeric | null)[] = [];
    for (let i = 0; i < promptIds.length; i++) {
      const ids = promptIds[i]!;
      const ref = reference[i]!;
      if (ref.tokens.length === 0 || ids.length + ref.tokens.length > session.contextLength) {
        out.push(null);
        continue;
      }
      session.reset();
      await session.prefill(ids.slice(0, -1));
      const rows = [(await session.decode(ids[ids.length - 1]!)).slice()];
      for (const token of ref.tokens.slice(0, -1)) rows.push((await session.decode(token)).slice());
      const raw = await readFile(ref.logitsPath);
      const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      const refRows = ref.tokens.map((_, p) => all.subarray(p * ref.vocab, (p + 1) * ref.vocab));
      const numeric = compareLogits(refRows, rows);
      out.push(numeric);
      reporter.metric(`evaluate.top1.${i}`, numeric.top1Agreement);
    }
    return out;
  } finally {
    runner.close();
  }
}
