/**
 * `workbench recipes --model DIR --out DIR`: compare quantization recipes
 * with numbers (issue 16 item 3) as a one-stage run in the same history as
 * the app (Runs and Compare pages): each recipe converted and packaged
 * natively, then measured (bytes, device memory at the context, corpus
 * metrics, greedy agreement, decode tokens/s), and the smallest bundle
 * within --max-kld recommended. `--json` prints exactly one JSON document:
 * `{recipes: [...], recommended, reason, …}`. Exit 0 when every recipe was
 * measured, 1 when one failed or the run did, 2 usage, 3 bad input.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import { DEFAULT_MAX_KLD, DEFAULT_RECIPES_KV, RecipesParams, RecipesResult } from '../../common/recipes.js';
import { NATIVE_QUANTIZATIONS, Quantization } from '../../common/stages/convert.js';
import { readCorpus } from '../../core/corpus/read.js';
import { readPromptsFile } from '../../core/evaluate/prompts.js';
import { exitCodeForRun, runInTerminal } from '../runInTerminal.js';
import { EXIT, type CliCommand, type CliContext } from '../context.js';
import { renderTable } from '../table.js';
import { corpusOption, EVALUATE_BAD_INPUT } from './evaluate.js';

export function formatRecipes(result: RecipesResult): string {
  const k = (x: number | undefined) => (x === undefined ? '—' : x.toExponential(2));
  const rows = result.recipes.map((r) => [
    `${r.recipe === result.recommended ? '* ' : '  '}${r.recipe}`,
    r.error ? 'failed' : formatBytes(r.bytes),
    formatBytes(r.deviceBytes),
    k(r.corpus?.meanKld),
    r.corpus ? `${(r.corpus.top1Agreement * 100).toFixed(1)}%` : '—',
    r.corpus ? r.corpus.pplRatio.toFixed(4) : '—',
    `${r.greedyMatches}/${r.prompts}`,
    r.decodeTokensPerSecond === null ? '—' : r.decodeTokensPerSecond.toFixed(1),
  ]);
  const lines = [renderTable(['recipe', 'bundle', 'device', 'mean KLD', 'top-1', 'ppl ratio', 'greedy', 'tokens/s'], rows)];
  for (const r of result.recipes) if (r.error) lines.push(`${r.recipe}: ${r.error}`);
  const c = result.recipes.find((r) => r.corpus)?.corpus;
  if (c) lines.push(`Corpus ${c.source.builtIn ? '(built-in) ' : ''}${c.source.path}: ${c.tokens} positions; context ${result.kvCacheMaxLen}; reference ${result.referenceBackend}.`);
  lines.push('', `Recommended: ${result.recommended ?? 'none of them'}. ${result.reason}`);
  for (const r of result.recipes) if (!r.error) lines.push(`  ${r.recipe}: ${r.bundle}`);
  return lines.join('\n');
}

interface RecipesValues {
  model?: string | undefined;
  out?: string | undefined;
  recipes?: string | undefined;
  kv?: string | undefined;
  prefill?: string | undefined;
  corpus?: string | undefined;
  'corpus-tokens'?: string | undefined;
  prompts?: string | undefined;
  'max-kld'?: string | undefined;
  'max-tokens'?: string | undefined;
  json?: boolean | undefined;
}

function wholeNumbers(text: string, flag: string): number[] {
  const values = text.split(',').map((v) => v.trim());
  const numbers = values.map(Number);
  if (values.some((v) => !/^\d+$/.test(v)) || numbers.some((n) => n < 1)) throw new WorkbenchError('usage', `${flag} takes whole numbers separated by commas, not "${text}".`);
  return numbers;
}

async function recipes(values: RecipesValues, ctx: CliContext): Promise<number> {
  if (!values.model) throw new WorkbenchError('usage', 'Name the source model folder with --model DIR.');
  if (!values.out) throw new WorkbenchError('usage', 'Name the folder for the bundles with --out DIR.');
  let list: Quantization[] | undefined;
  if (values.recipes !== undefined) {
    const names = values.recipes.split(',').map((r) => r.trim()).filter(Boolean);
    const unknown = names.filter((n) => !Quantization.safeParse(n).success || !NATIVE_QUANTIZATIONS.includes(n as Quantization));
    if (names.length === 0 || unknown.length > 0) throw new WorkbenchError('usage', `--recipes takes a comma-separated list of ${NATIVE_QUANTIZATIONS.join(', ')}${unknown.length > 0 ? `; ${unknown.join(', ')} is not one the native converter builds` : ''}.`);
    list = names as Quantization[];
  }
  const kv = values.kv === undefined ? undefined : wholeNumbers(values.kv, '--kv');
  if (kv && kv.length !== 1) throw new WorkbenchError('usage', `--kv takes one whole number, not "${values.kv}".`);
  const maxKld = values['max-kld'] === undefined ? undefined : Number(values['max-kld']);
  if (maxKld !== undefined && !(Number.isFinite(maxKld) && maxKld > 0 && maxKld <= 100)) throw new WorkbenchError('usage', `--max-kld must be a number above 0 (nats), not "${values['max-kld']}".`);
  const maxTokens = values['max-tokens'] === undefined ? undefined : wholeNumbers(values['max-tokens'], '--max-tokens')[0];
  const corpus = corpusOption(values, true)!;
  await readCorpus(corpus.file);
  if (values.prompts) await readPromptsFile(path.resolve(values.prompts));
  const params = RecipesParams.parse({
    modelDir: path.resolve(values.model),
    outDir: path.resolve(values.out),
    ...(list ? { recipes: list } : {}),
    ...(kv ? { kvCacheMaxLen: kv[0] } : {}),
    ...(values.prefill !== undefined ? { prefillSeqLens: wholeNumbers(values.prefill, '--prefill') } : {}),
    corpus,
    ...(values.prompts ? { promptsFile: path.resolve(values.prompts) } : {}),
    ...(maxKld !== undefined ? { maxKld } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  });
  const run = await runInTerminal(ctx.engine(), ctx, { name: `recipes ${path.basename(params.modelDir)}`, stages: [{ kind: 'recipes', params }] }, { quiet: values.json === true });
  const stage = run.stages[0];
  const parsed = RecipesResult.safeParse((stage?.result as { recipes?: unknown } | null)?.recipes);
  if (!parsed.success) {
    if (values.json) ctx.out(JSON.stringify({ runId: run.id, status: run.status, error: stage?.error ?? null, recipes: [], recommended: null, reason: null }, null, 2));
    else ctx.err(`Run ${run.id} ${run.status}${stage?.error ? `: ${stage.error.message}` : ''}`);
    return stage?.error && EVALUATE_BAD_INPUT.test(stage.error.code) ? EXIT.badInput : exitCodeForRun(run.status) || EXIT.failed;
  }
  const result = parsed.data;
  if (values.json) ctx.out(JSON.stringify({ runId: run.id, ...result }, null, 2));
  else ctx.out(formatRecipes(result));
  return result.recipes.some((r) => r.error) ? EXIT.failed : EXIT.ok;
}

export const recipesCommand: CliCommand = {
  name: 'recipes',
  summary: 'Convert and package the model with each quantization recipe, measure each bundle and recommend one',
  usage: `workbench recipes --model DIR --out DIR [--recipes LIST] [--kv N] [--prefill LIST] [--corpus FILE] [--corpus-tokens N]
                  [--prompts FILE] [--max-kld X] [--max-tokens N] [--json]
  --recipes LIST   comma-separated, default every recipe the native converter builds (${NATIVE_QUANTIZATIONS.join(', ')})
  --kv N           context length each bundle is built for (default ${DEFAULT_RECIPES_KV})
  --prefill LIST   prefill lengths (default the converter's defaults up to the context)
  --corpus FILE    text or JSONL corpus for the corpus metrics (default: the built-in public-domain sample)
  --corpus-tokens N  use at most the first N tokens of the corpus (default 2048)
  --prompts FILE   JSONL conversations for greedy agreement (default: the behaviour check's built-in prompts)
  --max-kld X      mean KL divergence (nats) a recipe may reach and be recommended (default ${DEFAULT_MAX_KLD})
  --max-tokens N   cap on generated tokens per greedy answer (default 32)
Each recipe's bundle is written to DIR/<recipe>/. See docs/fidelity.md.
exit code: 0 every recipe measured, 1 one failed or the run did, 2 usage error, 3 bad input`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        out: { type: 'string' },
        recipes: { type: 'string' },
        kv: { type: 'string' },
        prefill: { type: 'string' },
        corpus: { type: 'string' },
        'corpus-tokens': { type: 'string' },
        prompts: { type: 'string' },
        'max-kld': { type: 'string' },
        'max-tokens': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    try {
      return await recipes(values, ctx);
    } catch (error) {
      if (!values.json) throw error;
      const e = error instanceof WorkbenchError ? error : error instanceof Error && error.name === 'ZodError' ? new WorkbenchError('bad_params', (error as Error).message) : null;
      if (!e) throw error;
      ctx.out(JSON.stringify({ error: { code: e.code, message: e.message } }, null, 2));
      return e.code === 'usage' ? EXIT.usage : EXIT.badInput;
    }
  },
};
