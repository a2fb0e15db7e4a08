/**
 * `workbench evaluate --model DIR --bundle FILE`: the behaviour check as a
 * one-stage run (same runner and history as the app): the source model's
 * answers in PyTorch next to the bundle's in LiteRT-LM's engine, per prompt,
 * the teacher-forced numeric comparison and a summary naming the likely
 * cause. `--json` prints exactly one JSON document on stdout: `prompts`
 * (reference/bundle/greedy {text, stopped}, firstDivergence, repetition) and
 * `summary`. Exit code 0 when every answer matches, 1 otherwise.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { EvaluateResult, EvaluateParams, type PromptOutcome } from '../../common/stages/evaluate.js';
import { exitCodeForRun, runInTerminal } from '../runInTerminal.js';
import { EXIT, type CliCommand } from '../context.js';
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
    if (p.numeric) lines.push(`      teacher-forced: top-1 ${(p.numeric.top1Agreement * 100).toFixed(0)}% over ${p.numeric.positions} positions, max |logit error| ${p.numeric.maxAbsLogitError.toFixed(4)}, mean KL ${p.numeric.meanKl.toExponential(2)}`);
  }
  const s = result.summary;
  lines.push('', s.text);
  for (const cause of s.causes) lines.push(`  - ${cause}`);
  if (s.numeric) lines.push(`Teacher-forced over ${s.numeric.positions} positions: top-1 agreement ${(s.numeric.top1Agreement * 100).toFixed(1)}%, max |logit error| ${s.numeric.maxAbsLogitError.toFixed(4)}, mean KL ${s.numeric.meanKl.toExponential(2)}.`);
  lines.push(`Reference: ${result.referenceBackend}; bundle: LiteRT-LM ${result.engineVersion} (wasm, CPU).`);
  return lines.join('\n');
}

export const evaluateCommand: CliCommand = {
  name: 'evaluate',
  summary: "Compare a bundle's answers in LiteRT-LM's engine with the source model's in PyTorch, and say why they differ",
  usage: `workbench evaluate --model DIR --bundle FILE [--prompts FILE] [--max-tokens N] [--json]
  --prompts FILE   JSONL, one conversation per line ({"messages": [...]}), added to the built-in prompts
  --max-tokens N   cap on generated tokens per answer (default 48)
exit code: 0 every answer matches the reference, 1 some differ or the check failed, 2 usage error, 3 bad input`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        bundle: { type: 'string' },
        prompts: { type: 'string' },
        'max-tokens': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!values.model) throw new WorkbenchError('usage', 'Name the source model folder with --model DIR.');
    if (!values.bundle) throw new WorkbenchError('usage', 'Name the bundle with --bundle FILE.litertlm.');
    const maxTokens = values['max-tokens'] === undefined ? undefined : Number(values['max-tokens']);
    if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 2048)) {
      throw new WorkbenchError('usage', `--max-tokens must be a whole number from 1 to 2048, not "${values['max-tokens']}".`);
    }
    const params = EvaluateParams.parse({
      modelDir: path.resolve(values.model),
      bundlePath: path.resolve(values.bundle),
      ...(values.prompts ? { promptsFile: path.resolve(values.prompts) } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
    });
    const run = await runInTerminal(ctx.engine(), ctx, { name: clipRunName(`evaluate ${path.basename(params.bundlePath)}`), stages: [{ kind: 'evaluate', params }] }, { quiet: values.json });
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
      return stage?.error && /^(file_not_found|bad_prompts|no_tokenizer|no_chat_template|bad_params)$/.test(stage.error.code) ? EXIT.badInput : exitCodeForRun(run.status) || EXIT.failed;
    }
    const result = parsed.data;
    if (values.json) ctx.out(JSON.stringify({ runId: run.id, ...result }, null, 2));
    else ctx.out(formatEvaluation(result));
    return result.summary.bundleMatches === result.summary.prompts ? EXIT.ok : EXIT.failed;
  },
};
