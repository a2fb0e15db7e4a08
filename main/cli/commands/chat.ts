/**
 * `workbench chat --bundle FILE --prompt TEXT`: one generation from a bundle
 * in LiteRT-LM's own engine (wasm, CPU backend, in a child process), with the
 * bundle's metadata or the overrides given. Tokens stream to stdout, then
 * the figures (time to first token, prefill and decode tokens/s, why it
 * stopped) go to stderr; `--json` prints exactly one JSON document on stdout.
 * The engine's own log goes to stderr with --engine-log.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ChatResult } from '../../common/bundleRun.js';
import { WorkbenchError } from '../../common/errors.js';
import { BundleRunnerHost } from '../../core/bundleRunner/host.js';
import { EXIT, type CliCommand } from '../context.js';

function numberArgument(name: string, value: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new WorkbenchError('usage', `--${name} must be ${what}, not "${value}".`);
  return n;
}

const STOP_TEXT: Record<ChatResult['stopReason'], string> = {
  'stop-token': 'a stop token',
  'max-tokens': 'the max-tokens cap',
  'context-full': 'the context being full',
  cancelled: 'cancellation',
};

export function describeChat(result: ChatResult): string {
  const f = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits));
  if (result.cancelledWhile && result.tokens === 0) return `stopped ${result.cancelledWhile === 'loading' ? 'while the engine was loading the bundle' : result.cancelledWhile === 'waiting' ? 'before the engine started' : 'while generating'}`;
  return [
    `stopped by ${STOP_TEXT[result.stopReason]}${result.stopReason === 'stop-token' ? ` (${result.stopTokens.join(', ') || 'none declared'})` : ''}; ${result.tokens} tokens after a ${result.promptTokens}-token prompt`,
    `time to first token ${f(result.timeToFirstTokenSeconds, 2)} s, prefill ${f(result.prefillTokensPerSecond)} tok/s${result.prefillMeasure === 'wall-clock' ? ' (wall clock over the whole prompt)' : ''}, decode ${f(result.decodeTokensPerSecond)} tok/s${result.loadSeconds !== null ? `, engine load ${f(result.loadSeconds)} s` : ''}`,
    `sampler ${result.sampler.type} k=${result.sampler.k ?? '-'} p=${result.sampler.p ?? '-'} temperature=${result.sampler.temperature ?? '-'} (${result.sampler.source})${result.sampler.note ? `: ${result.sampler.note}` : ''}`,
    `context ${result.contextLength} tokens; LiteRT-LM ${result.engineVersion} (wasm, CPU)`,
  ].join('\n');
}

export const chatCommand: CliCommand = {
  name: 'chat',
  summary: "Run a bundle in LiteRT-LM's own engine (CPU, wasm) and print its answer with timings",
  usage: `workbench chat --bundle FILE --prompt TEXT [--raw] [--greedy] [--max-tokens N] [--json]
  [--system TEXT] [--temperature T] [--top-p P] [--top-k K] [--context N] [--show-prompt] [--engine-log]
--raw feeds the text as is (Session API, no chat template); --greedy decodes with TOP_P k = 1.
exit code: 0 answered, 1 the engine failed, 2 usage error, 3 unreadable input or a prompt longer than the context, 5 the bundle does not fit the engine's 4 GiB heap`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        bundle: { type: 'string' },
        prompt: { type: 'string' },
        raw: { type: 'boolean', default: false },
        greedy: { type: 'boolean', default: false },
        'max-tokens': { type: 'string' },
        json: { type: 'boolean', default: false },
        system: { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'top-k': { type: 'string' },
        context: { type: 'string' },
        'show-prompt': { type: 'boolean', default: false },
        'engine-log': { type: 'boolean', default: false },
      },
    });
    if (!values.bundle) throw new WorkbenchError('usage', 'Name the bundle to run with --bundle FILE.litertlm.');
    if (values.prompt === undefined) throw new WorkbenchError('usage', 'Give the text to send with --prompt TEXT.');
    const maxTokens = numberArgument('max-tokens', values['max-tokens'], (n) => Number.isInteger(n) && n >= 1 && n <= 32768, 'a whole number from 1 to 32768');
    const temperature = numberArgument('temperature', values.temperature, (n) => n > 0 && n <= 10, 'a number above 0 and at most 10');
    const topP = numberArgument('top-p', values['top-p'], (n) => n > 0 && n <= 1, 'a number above 0 and at most 1');
    const topK = numberArgument('top-k', values['top-k'], (n) => Number.isInteger(n) && n >= 1, 'a whole number of at least 1');
    const context = numberArgument('context', values.context, (n) => Number.isInteger(n) && n >= 16, 'a whole number of at least 16');
    const host = new BundleRunnerHost(values['engine-log'] ? { onLog: (line) => ctx.err(line) } : {});
    try {
      let streamed = false;
      const result = await host.chat(
        {
          bundlePath: path.resolve(values.bundle),
          messages: [{ role: 'user', content: values.prompt }],
          options: {
            greedy: values.greedy,
            raw: values.raw,
            ...(maxTokens !== undefined ? { maxTokens } : {}),
            ...(temperature !== undefined ? { temperature } : {}),
            ...(topP !== undefined ? { topP } : {}),
            ...(topK !== undefined ? { topK } : {}),
            ...(values.system !== undefined ? { systemPrompt: values.system } : {}),
          },
          ...(context !== undefined ? { contextLength: context } : {}),
        },
        values.json
          ? {}
          : {
              onText: (text) => {
                streamed = true;
                process.stdout.write(text);
              },
            },
      );
      if (values.json) {
        ctx.out(JSON.stringify(result, null, 2));
      } else {
        if (streamed) process.stdout.write('\n');
        if (values['show-prompt']) ctx.err(`prompt (${result.promptSource}):\n${result.promptText}`);
        ctx.err(describeChat(result));
      }
      return EXIT.ok;
    } catch (error) {
      if (error instanceof WorkbenchError && values.json && (error.code === 'bundle_too_large' || error.code.startsWith('engine_') || error.code === 'bundle_cannot_run')) {
        ctx.out(JSON.stringify({ error: error.toData() }));
      }
      if (error instanceof WorkbenchError && error.code === 'bundle_too_large') {
        ctx.err(`error: ${error.message}`);
        const hint = (error.details as { hint?: string } | undefined)?.hint;
        if (hint) ctx.err(`hint: ${hint}`);
        return EXIT.refused;
      }
      if (error instanceof WorkbenchError && error.code === 'prompt_too_long') {
        ctx.err(`error: ${error.message}`);
        const hint = (error.details as { hint?: string } | undefined)?.hint;
        if (hint) ctx.err(`hint: ${hint}`);
        return EXIT.badInput;
      }
      if (error instanceof WorkbenchError && error.code.startsWith('engine_') || (error instanceof WorkbenchError && error.code === 'bundle_cannot_run')) {
        ctx.err(`error: ${error.message}`);
        const hint = (error.details as { hint?: string } | undefined)?.hint;
        if (hint) ctx.err(`hint: ${hint}`);
        return EXIT.failed;
      }
      throw error;
    } finally {
      await host.close();
    }
  },
};


