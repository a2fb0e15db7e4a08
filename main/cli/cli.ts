#!/usr/bin/env node
/**
 * The `workbench` command: the same engine and history as the app, from a
 * terminal (and over SSH on a remote host).
 */
import { describeSystemError, describeValidationIssues, WorkbenchError, type WorkbenchErrorData } from '../common/errors.js';
import { commands } from './commands/index.js';
import { createCliContext, EXIT } from './context.js';

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'Convert Workbench — LoRA merge → LiteRT conversion → .litertlm packaging → verification',
    '',
    'Usage: workbench [--data-dir DIR] <command> [options]',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Global options:',
    '  --data-dir DIR  where the history and Python environment live (or WORKBENCH_DATA_DIR)',
    '  --help          this text; `workbench <command> --help` for a command',
    '',
    'Exit codes: 0 ok, 1 failed, 2 usage, 3 bad input, 4 stopped by the memory guard, 5 refused (predicted out of memory), 130 cancelled.',
  ].join('\n');
}

/** The core's predicted_oom refusal says "the expert override" without saying where it is; here it is a flag. */
const PREDICTED_OOM_HINT = 'Add --allow-predicted-oom to start it anyway (recorded with the run; the memory guard still stops it before the system runs out).';

/** Pulls the global --data-dir out of argv wherever it appears. */
function extractDataDir(argv: string[]): { dataDir: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let dataDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--data-dir') dataDir = argv[++i];
    else if (arg.startsWith('--data-dir=')) dataDir = arg.slice('--data-dir='.length);
    else rest.push(arg);
  }
  return { dataDir, rest };
}

/**
 * `--threads -1` would otherwise be an "ambiguous argument" from parseArgs (the
 * value starts with a dash): a negative number after an option is its value,
 * so the command's own range check names the option in one sentence.
 */
export function attachNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (/^--[a-z][\w-]*$/i.test(arg) && next !== undefined && /^-\d+(\.\d+)?$/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const { dataDir, rest } = extractDataDir(attachNegativeValues(argv));
  const [name, ...args] = rest;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${usage()}\n`);
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ error: { code: 'usage', message: `Unknown command "${name}"; workbench --help lists the commands.` } })}\n`);
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nUsage:\n${command.usage}\n`);
    return EXIT.ok;
  }
  const json = args.some((arg) => arg === '--json' || arg === '--json=true');
  const base = createCliContext(dataDir);
  // --json promises exactly one JSON document on stdout, on failure too: remember whether the command
  // printed one, and the first error sentence it wrote, for the error document when it did not.
  let stdoutUsed = false;
  let firstError: string | null = null;
  const ctx = {
    ...base,
    out(text: string) {
      stdoutUsed = true;
      base.out(text);
    },
    err(text: string) {
      const sentence = /^error: (.*)/.exec(text)?.[1];
      if (sentence && firstError === null) firstError = sentence;
      base.err(text);
    },
  };
  const fail = (data: WorkbenchErrorData, exit: number, stderrText: string): number => {
    process.stderr.write(stderrText);
    if (json && !stdoutUsed) process.stdout.write(`${JSON.stringify({ error: data })}\n`);
    return exit;
  };
  try {
    const exit = await command.run(args, ctx);
    if (json && exit !== EXIT.ok && !stdoutUsed) {
      process.stdout.write(`${JSON.stringify({ error: { code: exitCodeName(exit), message: firstError ?? `workbench ${name} failed (exit code ${exit}).` } })}\n`);
    }
    return exit;
  } catch (error) {
    if (error instanceof WorkbenchError) {
      const hint = (error.details as { hint?: string } | undefined)?.hint ?? (error.code === 'predicted_oom' ? PREDICTED_OOM_HINT : undefined);
      const exit = error.code === 'usage' ? EXIT.usage : error.code === 'predicted_oom' ? EXIT.refused : EXIT.badInput;
      return fail(error.toData(), exit, `error: ${error.message}\n${hint ? `hint: ${hint}\n` : ''}`);
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      return fail({ code: 'usage', message: error.message }, EXIT.usage, `error: ${error.message}\n\nUsage:\n${command.usage}\n`);
    }
    if (error instanceof Error && error.name === 'ZodError') {
      const message = describeValidationIssues((error as unknown as { issues: { path: PropertyKey[]; message: string }[] }).issues);
      return fail({ code: 'invalid_input', message }, EXIT.badInput, `error: ${message}\n`);
    }
    const systemError = describeSystemError(error);
    if (systemError) return fail(systemError.toData(), EXIT.badInput, `error: ${systemError.message}\n`);
    const message = error instanceof Error ? error.message : String(error);
    return fail({ code: 'internal', message }, EXIT.failed, `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } finally {
    await base.close();
  }
}

/** The error code of a JSON error document for a command that returned a failing exit code without one. */
function exitCodeName(exit: number): string {
  return exit === EXIT.usage ? 'usage' : exit === EXIT.badInput ? 'bad_input' : exit === EXIT.refused ? 'refused' : exit === EXIT.stoppedByGuard ? 'stopped_by_memory_guard' : exit === EXIT.cancelled ? 'cancelled' : 'failed';
}

// `workbench runs logs 7 | head` closes the pipe early: that is a normal end, not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
