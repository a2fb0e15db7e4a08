/**
 * Choosing the recipe with numbers (the `recipes` stage's body, issue 16
 * item 3): the PyTorch reference runs once (greedy answers to the prompts and
 * every corpus window in one process); then for each recipe the native
 * converter and the packager build a bundle, and the bundle is measured:
 * bytes, device memory at the context (the memory estimator's device
 * figure), the corpus metrics (LiteRT.js teacher-forced, main/core/corpus),
 * greedy agreement with the reference on the prompts and decode speed in
 * LiteRT-LM's engine. The recommendation rule is main/common/recipes.ts.
 * Runs in a stage process (the engine and LiteRT.js are wasm).
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ChatResult } from '../../common/bundleRun.js';
import { DEFAULT_PREFILL_SEQ_LENS, nativeTfliteName, type Quantization } from '../../common/stages/convert.js';
import { WorkbenchError } from '../../common/errors.js';
import { paretoFront, recommendRecipe, type RecipeResult, type RecipesParams, type RecipesResult } from '../../common/recipes.js';
import { BundleRunnerHost } from '../bundleRunner/host.js';
import { bundleCorpusPass, describePrepared, prepareCorpus } from '../corpus/measure.js';
import { summarizePositions } from '../corpus/metrics.js';
import { runReference } from '../corpus/reference.js';
import { BUILT_IN_PROMPTS, readPromptsFile } from '../evaluate/prompts.js';
import { modelIntent } from '../fidelity/intent.js';
import { loadModelSide } from '../fidelity/load.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { estimateDeviceMemory, modelFactsFromConfig } from '../memory/estimator.js';
import { convertNative, readDecoderConfig } from '../nativeConvert/convertModel.js';
import type { NativeQuantization } from '../nativeConvert/decoderGraph.js';
import { packageModel } from '../packager/package.js';

export interface RecipesReporter {
  progress(fraction: number | null, phase: string, message?: string): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', text: string): void;
  metric(name: string, value: number, unit?: string): void;
}

/** The prefill lengths a recipe is built with: the given ones, else the converter's defaults that fit the context. */
export function recipePrefill(params: Pick<RecipesParams, 'prefillSeqLens' | 'kvCacheMaxLen'>): number[] {
  const chosen = params.prefillSeqLens ?? DEFAULT_PREFILL_SEQ_LENS.filter((t) => t <= params.kvCacheMaxLen);
  return [...new Set(chosen.length > 0 ? chosen : [Math.min(8, params.kvCacheMaxLen)])].sort((a, b) => a - b);
}

export async function runRecipes(params: RecipesParams, options: { python: string | null; workDir: string; reporter: RecipesReporter; signal?: AbortSignal }): Promise<RecipesResult> {
  const { reporter, workDir } = options;
  const modelDir = path.resolve(params.modelDir);
  const outDir = path.resolve(params.outDir);
  const kv = params.kvCacheMaxLen;
  const prefill = recipePrefill(params);
  await mkdir(workDir, { recursive: true });

  reporter.progress(0.01, 'prepare', 'Tokenizing the prompts and the corpus');
  const model = await loadModelSide(modelDir);
  const tokenizer = model.tokenizer;
  if (!tokenizer) throw new WorkbenchError('no_tokenizer', `The model folder ${modelDir} has no tokenizer.json the workbench can reproduce${model.tokenizerProblem ? `: ${model.tokenizerProblem}` : ''}.`);
  if (!model.render) throw new WorkbenchError('no_chat_template', `The model folder ${modelDir} has no usable chat template${model.renderProblem ? ` (${model.renderProblem})` : ''}, so prompts cannot be rendered the way the model was trained.`);
  const config = await readDecoderConfig(modelDir);
  const intent = modelIntent(model);
  const bos = intent.bos && !intent.templateWritesBos ? intent.bos.id : null;
  const prompts = params.promptsFile ? await readPromptsFile(path.resolve(params.promptsFile)) : [...BUILT_IN_PROMPTS];
  const stopIds = [...new Set([...intent.eosIds, ...(intent.endOfTurn ? [intent.endOfTurn.id] : [])])];
  const promptIds = prompts.map((p) => {
    const ids = tokenizer.encode(model.render!(p.messages, true));
    return bos !== null ? [bos, ...ids] : ids;
  });
  const prepared = await prepareCorpus(params.corpus, { encode: (t) => tokenizer.encode(t), render: model.render, bos }, kv);
  describePrepared(prepared, reporter);

  reporter.progress(0.03, 'reference', 'PyTorch reference: greedy answers and corpus windows');
  const refDir = path.join(workDir, 'reference');
  const reference = await runReference(
    options.python,
    { modelDir, prompts: promptIds, maxNewTokens: params.maxTokens, stopIds, windows: prepared.windows, outDir: refDir, ...(params.reference !== 'auto' ? { backend: params.reference } : {}) },
    { progress: (f, _phase, message) => reporter.progress(f === null ? null : 0.03 + 0.17 * f, 'reference', message), log: reporter.log },
    options.signal,
  );
  reporter.log('info', `Reference: ${reference.backend}; corpus windows in ${reference.windowSeconds.toFixed(1)} s.`);
  reporter.metric('recipes.reference_window_seconds', reference.windowSeconds, 's');
  const referenceAnswers = reference.answers.map((a) => {
    const ids = a.stopped ? a.tokens.slice(0, -1) : a.tokens;
    return { text: tokenizer.decode(ids), stopped: a.stopped };
  });

  const facts = modelFactsFromConfig((await readHfFolder(modelDir)).config);
  const results: RecipeResult[] = [];
  const host = new BundleRunnerHost({ onLog: (line) => reporter.log('debug', line) });
  try {
    for (let r = 0; r < params.recipes.length; r++) {
      const recipe = params.recipes[r]!;
      const share = 0.8 / params.recipes.length;
      const at = (f: number) => 0.2 + share * (r + f);
      if (options.signal?.aborted) throw new WorkbenchError('cancelled', 'The recipe comparison was cancelled.');
      results.push(await measureRecipe(recipe));

      async function measureRecipe(recipe: Quantization): Promise<RecipeResult> {
        const dir = path.join(outDir, recipe);
        const tflite = path.join(dir, nativeTfliteName(config.family.name, recipe, kv));
        const bundle = tflite.replace(/\.tflite$/, '.litertlm');
        const result: RecipeResult = { recipe, tflite, bundle, bytes: 0, tfliteBytes: 0, deviceBytes: null, corpus: null, greedyMatches: 0, prompts: prompts.length, decodeTokensPerSecond: null, convertSeconds: 0, error: null };
        try {
          await mkdir(dir, { recursive: true });
          reporter.progress(at(0), recipe, `Converting (${recipe}, context ${kv})`);
          const converted = await convertNative({ modelDir, outPath: tflite, quantize: recipe as NativeQuantization, kvCacheMaxLen: kv, prefillSeqLens: prefill, kvLayout: 'btnh', ...(options.signal ? { signal: options.signal } : {}) });
          result.convertSeconds = converted.seconds;
          result.tfliteBytes = converted.bytes;
          reporter.progress(at(0.15), recipe, 'Packaging');
          await packageModel({ tflitePath: tflite, modelDir, outPath: bundle, overwrite: true });
          result.bytes = (await stat(bundle)).size;
          if (!('ok' in facts && facts.ok === false)) {
            result.deviceBytes = Math.round(estimateDeviceMemory(facts as Exclude<typeof facts, { ok: false }>, { kvCacheMaxLen: kv, prefillSeqLens: prefill, quantize: recipe }).totalBytes);
          }
          reporter.progress(at(0.2), recipe, `Corpus: ${prepared.windows.length} window(s) teacher-forced in LiteRT.js`);
          const pass = await bundleCorpusPass(tflite, prepared.windows, reference.windows, {
            onWindow: (done, total) => reporter.progress(at(0.2 + (0.6 * done) / total), recipe, `Corpus window ${done} of ${total}`),
            ...(options.signal ? { signal: options.signal } : {}),
          });
          result.corpus = summarizePositions(pass.log, { source: prepared.source, corpusTokens: prepared.corpusTokens, windows: prepared.windows.length, windowTokens: prepared.windowTokens, referenceSeconds: reference.windowSeconds, bundleSeconds: pass.seconds });
          reporter.progress(at(0.8), recipe, `Greedy answers to ${prompts.length} prompts in LiteRT-LM`);
          const speeds: number[] = [];
          for (let i = 0; i < prompts.length; i++) {
            let answer: ChatResult;
            try {
              answer = await host.chat({ bundlePath: bundle, messages: prompts[i]!.messages, options: { greedy: true, maxTokens: params.maxTokens, raw: false } });
            } catch (error) {
              reporter.log('warn', `${recipe}: prompt ${i + 1}: ${(error as Error).message}`);
              continue;
            }
            if (answer.decodeTokensPerSecond !== null && answer.tokens > 1) speeds.push(answer.decodeTokensPerSecond);
            const ref = referenceAnswers[i]!;
            if (answer.text === ref.text && (answer.stopReason === 'stop-token') === ref.stopped) result.greedyMatches++;
          }
          await host.close();
          result.decodeTokensPerSecond = speeds.length > 0 ? speeds.reduce((s, x) => s + x, 0) / speeds.length : null;
          const c = result.corpus;
          reporter.log('info', `${recipe}: ${(result.bytes / 2 ** 20).toFixed(2)} MiB, mean KLD ${c.meanKld.toExponential(3)}, top-1 ${(c.top1Agreement * 100).toFixed(1)}%, ppl ratio ${c.pplRatio.toFixed(4)}, greedy ${result.greedyMatches}/${prompts.length}${result.decodeTokensPerSecond !== null ? `, ${result.decodeTokensPerSecond.toFixed(1)} tokens/s` : ''}.`);
          reporter.metric(`recipes.${recipe}.mean_kld`, c.meanKld);
          reporter.metric(`recipes.${recipe}.top1_agreement`, c.top1Agreement);
          reporter.metric(`recipes.${recipe}.bytes`, result.bytes, 'bytes');
        } catch (error) {
          if (error instanceof WorkbenchError && error.code === 'cancelled') throw error;
          if (options.signal?.aborted) throw new WorkbenchError('cancelled', 'The recipe comparison was cancelled.');
          result.error = error instanceof Error ? error.message : String(error);
          reporter.log('error', `${recipe}: ${result.error}`);
        }
        return result;
      }
    }
  } finally {
    await host.close();
    await rm(refDir, { recursive: true, force: true });
  }
  const { recommended, reason } = recommendRecipe(results, params.maxKld);
  reporter.log('info', reason);
  reporter.progress(1, 'done', reason);
  return { modelDir, outDir, kvCacheMaxLen: kv, prefillSeqLens: prefill, maxKld: params.maxKld, referenceBackend: reference.backend, recipes: results, recommended, reason, pareto: paretoFront(results) };
}
