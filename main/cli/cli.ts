#!/usr/bin/env node
/**
 * The `workbench` command: the same engine and history as the app, from a
 * terminal (and over SSH on a remote host).
 */
import { describeSystemError, describeValidationIssues, WorkbenchError } from '../common/errors.js';
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
    return EXIT.usage;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nUsage:\n${command.usage}\n`);
    return EXIT.ok;
  }
  const ctx = createCliContext(dataDir);
  try {
    return await command.run(args, ctx);
  } catch (error) {
    if (error instanceof WorkbenchError) {
      process.stderr.write(`error: ${error.message}\n`);
      const hint = (error.details as { hint?: string } | undefined)?.hint ?? (error.code === 'predicted_oom' ? PREDICTED_OOM_HINT : undefined);
      if (hint) process.stderr.write(`hint: ${hint}\n`);
      return error.code === 'usage' ? EXIT.usage : error.code === 'predicted_oom' ? EXIT.refused : EXIT.badInput;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${error.message}\n\nUsage:\n${command.usage}\n`);
      return EXIT.usage;
    }
    if (error instanceof Error && error.name === 'ZodError') {
      process.stderr.write(`error: ${describeValidationIssues((error as unknown as { issues: { path: PropertyKey[]; message: string }[] }).issues)}\n`);
      return EXIT.badInput;
    }
    const systemError = describeSystemError(error);
    if (systemError) {
      process.stderr.write(`error: ${systemError.message}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  } finally {
    await ctx.close();
  }
}

// `workbench runs logs 7 | head` closes the pipe early: that is a normal end, not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await main(process.argv.slice(2));
