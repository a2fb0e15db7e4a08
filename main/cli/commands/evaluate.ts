/**
 * `workbench evaluate --model DIR --bundle FILE`: the behaviour check as a
 * one-stage run (same runner and history as the app): the source model's
 * answers in PyTorch next to the bundle's in LiteRT-LM's engine, per prompt,
 * the teacher-forced numeric comparison and the causes of every difference
 * ranked by evidence. `--json` prints exactly one JSON document on stdout:
 * `prompts` (reference/bundle/greedy {text, stopped}, firstDivergence,
 * repetition, input, cause) and `summary` (verdict, causes [{kind, latent,
 * prompts, evidence, text}]). Exit code 0 when every answer matches (also
 * for a latent finding: the verdict says LATENT and names the failing check;
 * `workbench check` is the gate for metadata), 1 when some differ.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { EvaluateResult, EvaluateParams, type PromptOutcome } from '../../common/stages/evaluate.js';
import { exitCodeForRun, runInTerminal } from '../runInTerminal.js';
import { EXIT, type CliCommand, type CliContext } from '../context.js';
import type { CorpusMetrics, CorpusOptionsInput } from '../../common/corpusMetrics.js';
import { readCorpus } from '../../core/corpus/read.js';
import { clipRunName } from '../../common/stages/plan.js';

function show(text: string, max = 160): string {
  const flat = JSON.stringify(text);
  return flat.length > max ? `${flat.slice(0, max - 1)}…"` : flat;
}

export function formatEvaluation(result: EvaluateResult): string {
  const lines: string[] = [];
  const mark = (p: PromptOutcome) => (p.firstDivergence.token === null ? 'SAME' : 'DIFF');
  for (const p of result.prompts) {
    lines.push(`${mark(p)}  ${p.label}: ${show(p.messages[p.messages.length - 1]!.content, 80)}`);
    const stop = (a: PromptOutcome['reference']) => (a.error ? `error: ${a.error}` : a.stopped ? `stopped on ${a.stopToken}` : `ran to ${a.stopReason}`);
    lines.push(`      reference  ${show(p.reference.text)}  (${p.reference.tokens} tokens, ${stop(p.reference)})`);
    lines.push(`      bundle     ${show(p.bundle.text)}  (${p.bundle.tokens} tokens, ${stop(p.bundle)}, repetition ${(p.repetition * 100).toFixed(0)}%)`);
    lines.push(`      greedy     ${show(p.greedy.text)}  (${p.greedy.tokens} tokens, ${stop(p.greedy)})`);
    if (p.firstDivergence.token !== null) lines.push(`      first divergence at reference token ${p.firstDivergence.token} (character ${p.firstDivergence.char})`);
    if (p.cause) lines.push(`      first cause: ${p.cause.kind}: ${p.cause.text}`);
    if (p.numeric) lines.push(`      teacher-forced: top-1 ${(p.numeric.top1Agreement * 100).toFixed(0)}% over ${p.numeric.positions} positions, max |logit error| ${p.numeric.maxAbsLogitError.toFixed(4)}, mean KL ${p.numeric.meanKl.toExponential(2)}`);
  }
  const s = result.summary;
  const verdict = s.verdict ?? (s.bundleMatches === s.prompts ? 'match' : 'differ');
  lines.push('', `${verdict === 'match' ? 'MATCH' : verdict === 'latent' ? 'LATENT' : 'DIFFER'}  ${s.text}`);
  if (s.causes.length > 0) lines.push('Causes, most evidenced first:');
  s.causes.forEach((cause, i) => {
    lines.push(`  ${i + 1}. [${cause.latent ? 'latent ' : ''}${cause.kind}] ${cause.text}`);
    for (const e of cause.evidence) lines.push(`       ${e.label}: ${e.value}`);
  });
  if (s.numeric) lines.push(`Teacher-forced over ${s.numeric.positions} positions: top-1 agreement ${(s.numeric.top1Agreement * 100).toFixed(1)}%, max |logit error| ${s.numeric.maxAbsLogitError.toFixed(4)}, mean KL ${s.numeric.meanKl.toExponential(2)}.`);
  if (result.corpus) lines.push(...formatCorpus(result.corpus));
  lines.push(`Reference: ${result.referenceBackend}; bundle: LiteRT-LM ${result.engineVersion} (wasm, CPU).`);
  return lines.join('\n');
}

/** The corpus metrics as a few lines (also used by `workbench recipes`). */
export function formatCorpus(c: CorpusMetrics): string[] {
  const k = (x: number) => x.toExponential(3);
  return [
    `Corpus ${c.source.builtIn ? '(built-in) ' : ''}${c.source.path}: ${c.tokens} positions in ${c.windows} window(s) of up to ${c.windowTokens} tokens`,
    `  KL(reference ‖ bundle): mean ${k(c.meanKld)}, median ${k(c.medianKld)}, p99 ${k(c.p99Kld)}, max ${k(c.maxKld)} nats`,
    `  top-1 agreement ${(c.top1Agreement * 100).toFixed(2)}%; perplexity reference ${c.pplReference.toFixed(4)}, bundle ${c.pplBundle.toFixed(4)}, ratio ${c.pplRatio.toFixed(5)}; RMS Δp ${c.rmsDeltaP.toExponential(2)}`,
  ];
}

/** --corpus FILE / --default-corpus / --corpus-tokens N → the stage's corpus option (undefined: no corpus metrics). */
export function corpusOption(values: { corpus?: string | undefined; 'default-corpus'?: boolean | undefined; 'corpus-tokens'?: string | undefined }, always = false): CorpusOptionsInput | undefined {
  if (values.corpus !== undefined && values['default-corpus']) throw new WorkbenchError('usage', 'Give either --corpus FILE or --default-corpus, not both.');
  const tokens = values['corpus-tokens'] === undefined ? undefined : Number(values['corpus-tokens']);
  if (tokens !== undefined && (!Number.isInteger(tokens) || tokens < 2 || tokens > 1_000_000)) throw new WorkbenchError('usage', `--corpus-tokens must be a whole number from 2 to 1000000, not "${values['corpus-tokens']}".`);
  if (values.corpus === undefined && !values['default-corpus'] && !always) {
    if (tokens !== undefined) throw new WorkbenchError('usage', '--corpus-tokens needs --corpus FILE or --default-corpus.');
    return undefined;
  }
  return { ...(values.corpus !== undefined ? { file: path.resolve(values.corpus) } : {}), ...(tokens !== undefined ? { maxTokens: tokens } : {}) };
}

/** Stage error codes that mean the user's input is wrong (exit 3). */
export const EVALUATE_BAD_INPUT = /^(file_not_found|bad_prompts|no_tokenizer|no_chat_template|bad_params|bad_corpus|not_a_file|bad_magic|truncated_file|corrupt_file|offset_out_of_range|header_too_large|unsupported_version|not_regular_file)$/;

export const evaluateCommand: CliCommand = {
  name: 'evaluate',
  summary: "Compare a bundle's answers in LiteRT-LM's engine with the source model's in PyTorch, and say why they differ",
  usage: `workbench evaluate --model DIR --bundle FILE [--prompts FILE] [--max-tokens N] [--corpus FILE | --default-corpus] [--corpus-tokens N] [--json]
  --prompts FILE   JSONL, one conversation per line ({"messages": [...]}), added to the built-in prompts
  --max-tokens N   cap on generated tokens per answer (default 48)
  --corpus FILE    also measure corpus metrics (KL divergence, top-1, perplexity ratio; docs/fidelity.md) over
                   FILE: plain text, or JSONL of {"text": "…"} or {"messages": [...]} lines
  --default-corpus the same over the built-in sample (Chapter 1 of Pride and Prejudice, public domain)
  --corpus-tokens N  use at most the first N tokens of the corpus (default 2048)
exit code: 0 every answer matches the reference (a LATENT verdict too: answers match but a failing check may change
  other prompts; gate metadata with \`workbench check\`), 1 some differ or the check failed, 2 usage error, 3 bad input`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        bundle: { type: 'string' },
        prompts: { type: 'string' },
        'max-tokens': { type: 'string' },
        corpus: { type: 'string' },
        'default-corpus': { type: 'boolean', default: false },
        'corpus-tokens': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    try {
      return await evaluate(values, ctx);
    } catch (error) {
      if (!values.json || !(error instanceof WorkbenchError)) throw error;
      // --json: one JSON document on stdout on failure too.
      ctx.out(JSON.stringify({ error: { code: error.code, message: error.message } }, null, 2));
      return error.code === 'usage' ? EXIT.usage : EXIT.badInput;
    }
  },
};

interface EvaluateValues {
  model?: string | undefined;
  bundle?: string | undefined;
  prompts?: string | undefined;
  'max-tokens'?: string | undefined;
  corpus?: string | undefined;
  'default-corpus'?: boolean | undefined;
  'corpus-tokens'?: string | undefined;
  json?: boolean | undefined;
}

async function evaluate(values: EvaluateValues, ctx: CliContext): Promise<number> {
  if (!values.model) throw new WorkbenchError('usage', 'Name the source model folder with --model DIR.');
  if (!values.bundle) throw new WorkbenchError('usage', 'Name the bundle with --bundle FILE.litertlm.');
  const maxTokens = values['max-tokens'] === undefined ? undefined : Number(values['max-tokens']);
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 2048)) {
    throw new WorkbenchError('usage', `--max-tokens must be a whole number from 1 to 2048, not "${values['max-tokens']}".`);
  }
  const corpus = corpusOption(values);
  // A bad corpus is refused before anything runs (the stage's preflight says the same).
  if (corpus) await readCorpus(corpus.file);
  const params = EvaluateParams.parse({
    modelDir: path.resolve(values.model),
    bundlePath: path.resolve(values.bundle),
    ...(values.prompts ? { promptsFile: path.resolve(values.prompts) } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(corpus ? { corpus } : {}),
  });
  const run = await runInTerminal(ctx.engine(), ctx, { name: clipRunName(`evaluate ${path.basename(params.bundlePath)}`), stages: [{ kind: 'evaluate', params }] }, { quiet: values.json === true });
  const stage = run.stages[0];
  const parsed = EvaluateResult.safeParse((stage?.result as { evaluation?: unknown } | null)?.evaluation);
  if (!parsed.success && run.status === 'succeeded') {
    // A finished check whose result does not read is a failure to say, never `"status":"succeeded"` with no result.
    const issue = parsed.error.issues[0];
    const message = `Run ${run.id} finished but its result cannot be read (${issue ? `${issue.path.join('.') || 'result'}: ${issue.message}` : 'no evaluation'}); see workbench runs logs ${run.id}.`;
    if (values.json) ctx.out(JSON.stringify({ runId: run.id, status: run.status, error: { code: 'evaluation_unreadable', message } }));
    ctx.err(`error: ${message}`);
    return EXIT.failed;
  }
  if (!parsed.success) {
    if (values.json) ctx.out(JSON.stringify({ runId: run.id, status: run.status, error: stage?.error ?? null, prompts: [], summary: null }, null, 2));
    else ctx.err(`Run ${run.id} ${run.status}${stage?.error ? `: ${stage.error.message}` : ''}`);
    return stage?.error && EVALUATE_BAD_INPUT.test(stage.error.code) ? EXIT.badInput : exitCodeForRun(run.status) || EXIT.failed;
  }
  const result = parsed.data;
  if (values.json) ctx.out(JSON.stringify({ runId: run.id, ...result }, null, 2));
  else ctx.out(formatEvaluation(result));
  return result.summary.bundleMatches === result.summary.prompts ? EXIT.ok : EXIT.failed;
}
