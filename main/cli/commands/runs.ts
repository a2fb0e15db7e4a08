/**
 * `workbench runs list | show <id> | logs <id> | export <id>`: the run
 * history from the terminal, same database as the app. `export` writes the
 * run report (main/core/report/) as Markdown or self-contained HTML.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes, formatDuration, formatTimestamp, STATUS_LABELS } from '../../common/format.js';
import { RunStatus, type RunSummary } from '../../common/runs.js';
import { LogLevel } from '../../common/stageProtocol.js';
import { ReportFormat } from '../../common/report.js';
import { exportReport } from '../../core/report/index.js';
import { WorkbenchError } from '../../common/errors.js';
import { EXIT, type CliCommand } from '../context.js';
import { renderTable } from '../table.js';

const DEFAULT_LIST_LIMIT = 50;

/** Which options and how many positional arguments each subcommand takes; anything else is a usage error, not silently ignored. */
const SUBCOMMANDS = {
  list: { options: ['json', 'status', 'search', 'limit'], positionals: 0 },
  show: { options: ['json'], positionals: 1 },
  logs: { options: ['json', 'grep', 'level'], positionals: 1 },
  export: { options: ['json', 'format', 'out'], positionals: 1 },
} as const;

function keyParamsText(run: RunSummary): string {
  return Object.entries(run.keyParams)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

/** Digits only: Number() would also take "1e3", "0x10" or " 7", which nobody means as a count. */
function isPositiveWholeNumber(value: string): boolean {
  return /^[0-9]+$/.test(value) && Number.isSafeInteger(Number(value)) && Number(value) > 0;
}

function runId(value: string | undefined): number {
  if (value === undefined || !isPositiveWholeNumber(value)) throw new WorkbenchError('usage', `Expected a run id (a positive whole number), got "${value ?? ''}".`);
  return Number(value);
}

function positiveWholeNumber(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isPositiveWholeNumber(value)) throw new WorkbenchError('usage', `--${option} must be a positive whole number, got "${value}".`);
  return Number(value);
}

/** `--status failed,stopped_by_guard`, in any case. */
function runStatuses(value: string | undefined): RunStatus[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((item) => {
    const parsed = RunStatus.safeParse(item.trim().toLowerCase());
    if (!parsed.success) throw new WorkbenchError('usage', `Unknown status "${item.trim()}"; use one or more of ${RunStatus.options.join(', ')}, separated by commas.`);
    return parsed.data;
  });
}

/** `--level warn` means "warn and worse", as in most log tools: the levels from the given one up. */
function levelsFrom(value: string | undefined): LogLevel[] | undefined {
  if (value === undefined) return undefined;
  const parsed = LogLevel.safeParse(value.trim().toLowerCase());
  if (!parsed.success) throw new WorkbenchError('usage', `Unknown log level "${value}"; use one of ${LogLevel.options.join(', ')} (lines at that level and above are shown).`);
  return LogLevel.options.slice(LogLevel.options.indexOf(parsed.data));
}

function checkArguments(sub: keyof typeof SUBCOMMANDS, values: Record<string, unknown>, positionals: string[]): void {
  const spec = SUBCOMMANDS[sub];
  const stray = Object.keys(values).find((option) => values[option] !== undefined && !(spec.options as readonly string[]).includes(option));
  if (stray) throw new WorkbenchError('usage', `--${stray} does not apply to \`workbench runs ${sub}\`; see \`workbench runs --help\`.`);
  if (positionals.length > spec.positionals) throw new WorkbenchError('usage', `Unexpected argument "${positionals[spec.positionals]}" for \`workbench runs ${sub}\`; see \`workbench runs --help\`.`);
}

// ---- overrides, for `runs show` -----------------------------------------

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * One preflight record (main/core/memory/preflight.ts and the merge stage
 * write them) as a sentence in human units; a shape this does not know is
 * printed as key: value so nothing recorded is hidden.
 */
function preflightLine(entry: unknown): string {
  if (!isObject(entry)) return `preflight: ${JSON.stringify(entry)}`;
  const estimate = entry.memoryEstimate;
  if (isObject(estimate)) {
    if (!isObject(estimate.peakBytes)) return `memory preflight: no estimate${typeof estimate.reason === 'string' ? ` (${estimate.reason})` : ''}`;
    const parts: string[] = [];
    const { expected, high } = estimate.peakBytes;
    let peak = `predicted peak ${formatBytes(isNumber(expected) ? expected : null)}`;
    if (isNumber(high)) peak += ` (up to ${formatBytes(high)})`;
    if (isObject(estimate.durationSec) && isNumber(estimate.durationSec.expected)) peak += `, about ${formatDuration(estimate.durationSec.expected * 1000)}`;
    parts.push(peak);
    const verdict = entry.memoryVerdict;
    if (isObject(verdict) && typeof verdict.fit === 'string') parts.push(`verdict: ${verdict.fit}${isNumber(verdict.budgetBytes) ? `, budget ${formatBytes(verdict.budgetBytes)}` : ''}`);
    const host = entry.host;
    if (isObject(host) && isNumber(host.totalBytes)) parts.push(`host ${formatBytes(host.totalBytes)} RAM${isNumber(host.availableBytes) ? `, ${formatBytes(host.availableBytes)} available` : ''}`);
    if (isNumber(entry.largestSafeContext)) parts.push(`largest context predicted to fit: ${entry.largestSafeContext}`);
    else if (entry.largestSafeContext === null) parts.push('no context length predicted to fit');
    if (entry.override === true) parts.push('started under the expert override');
    return `memory preflight: ${parts.join('; ')}`;
  }
  if (isNumber(entry.predictedPeakBytes)) {
    return `merge preflight: predicted peak ${formatBytes(entry.predictedPeakBytes)}${isNumber(entry.tensorsTouched) ? `, ${entry.tensorsTouched} tensors changed` : ''}`;
  }
  return `preflight: ${Object.entries(entry)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ')}`;
}

/** What was recorded as overriding the defaults (main/core/runner/runner.ts), one line each. */
function overrideLines(overrides: Json): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'allowPredictedOom' && isObject(value)) {
      lines.push(`allow predicted out of memory: yes (set in the ${value.source === 'plan' ? 'plan' : 'settings'})`);
    } else if (key === 'preflight' && Array.isArray(value)) {
      lines.push(...value.map(preflightLine));
    } else {
      lines.push(`${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
    }
  }
  return lines;
}

/** A run id asked of a data directory that holds no history. */
function noHistory(id: number, dataDir: string): WorkbenchError {
  return new WorkbenchError('run_not_found', `Run ${id} does not exist: there is no history in ${dataDir} (check --data-dir or WORKBENCH_DATA_DIR).`);
}

/** The run's name for the list, shortened so one long name does not push the other columns off the screen. */
function runName(name: string | null): string {
  if (!name) return '—';
  return name.length > 40 ? `${name.slice(0, 39)}…` : name;
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List past runs, show one, print its logs, or export it as a report',
  usage: `workbench runs list [--status S,...] [--search TEXT] [--limit N] [--json]
workbench runs show <id> [--json]
workbench runs logs <id> [--grep TEXT] [--level debug|info|warn|error] [--json]
workbench runs export <id> --format md|html [--out FILE] [--json]

  --status S,...  only runs with one of these statuses: ${RunStatus.options.join(', ')}
  --search TEXT   only runs whose logs contain these words (full-text word search, the last word as a prefix)
  --limit N       at most N runs, newest first (default ${DEFAULT_LIST_LIMIT})
  --grep TEXT     only lines containing TEXT: a substring, case-insensitive, every character literal
  --level L       only lines at level L or above (debug < info < warn < error); any case
  --format F      export: md (Markdown) or html (one self-contained file: inline CSS and SVG, no scripts)
  --out FILE      export: write the report there (an existing file is not overwritten); without it, stdout`,
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        status: { type: 'string' },
        search: { type: 'string' },
        limit: { type: 'string' },
        grep: { type: 'string' },
        level: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
      },
    });
    if (sub !== 'list' && sub !== 'show' && sub !== 'logs' && sub !== 'export') {
      ctx.err(`Usage:\n${this.usage}`);
      return EXIT.usage;
    }
    checkArguments(sub, values, positionals);
    // Arguments are checked before the database is opened: a typo never touches the history.
    // Reading never creates a history either: a mistyped --data-dir is named, not filled with a new database.
    const existing = ctx.existingHistory();
    switch (sub) {
      case 'export': {
        // --json: one JSON document on stdout on failure too (the message also goes to stderr).
        try {
          const id = runId(positionals[0]);
          const format = ReportFormat.safeParse(values.format);
          if (!format.success) throw new WorkbenchError('usage', `--format must be md or html${values.format === undefined ? '' : `, not "${values.format}"`}.`);
          const out = values.out ? path.resolve(values.out) : null;
          if (out && existsSync(out)) throw new WorkbenchError('file_exists', `${out} already exists; choose another --out or remove it first (a report never overwrites a file).`, { path: out });
          if (out && !existsSync(path.dirname(out))) throw new WorkbenchError('file_not_found', `The folder ${path.dirname(out)} does not exist; create it or choose another --out.`, { path: out });
          if ('missing' in existing) throw noHistory(id, existing.missing);
          const report = exportReport(ctx.engine().history, id, format.data);
          if (out) await writeFile(out, report.text, { flag: 'wx' });
          if (values.json) ctx.out(JSON.stringify({ runId: id, format: report.format, fileName: report.fileName, mimeType: report.mimeType, out, bytes: Buffer.byteLength(report.text), ...(out ? {} : { text: report.text }) }, null, 2));
          else if (out) ctx.out(`Wrote the ${format.data === 'html' ? 'HTML' : 'Markdown'} report of run ${id} to ${out} (${formatBytes(Buffer.byteLength(report.text))}).`);
          else ctx.out(report.text);
          return EXIT.ok;
        } catch (error) {
          if (values.json && error instanceof WorkbenchError) ctx.out(JSON.stringify({ runId: positionals[0] ?? null, error: { code: error.code, message: error.message } }, null, 2));
          throw error;
        }
      }
      case 'list': {
        const status = runStatuses(values.status);
        const limit = positiveWholeNumber('limit', values.limit, DEFAULT_LIST_LIMIT);
        if ('missing' in existing) {
          if (values.json) ctx.out(JSON.stringify({ runs: [], total: 0 }, null, 2));
          else ctx.out(`No history in ${existing.missing}: nothing has run with this data directory yet (check --data-dir or WORKBENCH_DATA_DIR).`);
          return EXIT.ok;
        }
        const history = ctx.engine().history;
        const { runs, total } = history.listRuns({ ...(status ? { status } : {}), ...(values.search ? { logQuery: values.search } : {}), limit });
        if (values.json) {
          ctx.out(JSON.stringify({ runs, total }, null, 2));
          return EXIT.ok;
        }
        if (runs.length === 0) {
          const all = status || values.search ? history.listRuns({ limit: 1 }).total : 0;
          if (all === 0) ctx.out('No runs yet. Start one with `workbench run --plan plan.json` or from the app.');
          else ctx.out(`No run matches ${[status ? `--status ${status.join(',')}` : '', values.search ? `--search "${values.search}"` : ''].filter(Boolean).join(' and ')}; \`workbench runs list\` shows all ${all}.`);
          return EXIT.ok;
        }
        ctx.out(
          renderTable(
            ['ID', 'NAME', 'STATUS', 'MODEL', 'PARAMETERS', 'DURATION', 'PEAK RAM', 'STARTED'],
            runs.map((run) => [
              String(run.id),
              runName(run.name),
              STATUS_LABELS[run.status] ?? run.status,
              run.model ?? '—',
              keyParamsText(run),
              formatDuration(run.startedAt ? (run.finishedAt ?? Date.now()) - run.startedAt : null),
              formatBytes(run.peakRssBytes),
              formatTimestamp(run.startedAt ?? run.createdAt),
            ]),
          ),
        );
        if (total > runs.length) ctx.out(`(${runs.length} of ${total}; use --limit to see more)`);
        return EXIT.ok;
      }
      case 'show': {
        const id = runId(positionals[0]);
        if ('missing' in existing) throw noHistory(id, existing.missing);
        const run = ctx.engine().history.getRun(id);
        if (values.json) {
          ctx.out(JSON.stringify(run, null, 2));
          return EXIT.ok;
        }
        ctx.out(`Run ${run.id}${run.name ? ` — ${run.name}` : ''}${run.isSelftest ? ' (self-test)' : ''}`);
        ctx.out(`Status:   ${STATUS_LABELS[run.status] ?? run.status}${run.error ? ` — ${run.error.message}` : ''}`);
        ctx.out(`Model:    ${run.model ?? '—'}   ${keyParamsText(run)}`);
        ctx.out(`Host:     ${run.host.hostname} (${run.host.platform} ${run.host.arch}, ${run.host.cpuCount} CPUs, ${formatBytes(run.host.totalMemBytes)} RAM)`);
        ctx.out(`Started:  ${formatTimestamp(run.startedAt)}   duration ${formatDuration(run.startedAt ? (run.finishedAt ?? Date.now()) - run.startedAt : null)}   peak RAM ${formatBytes(run.peakRssBytes)}`);
        if (run.parentRunId) ctx.out(`From run: ${run.parentRunId}`);
        if (run.overrides) {
          ctx.out('Overrides:');
          for (const line of overrideLines(run.overrides)) ctx.out(`  ${line}`);
        }
        ctx.out('');
        ctx.out(
          renderTable(
            ['#', 'STAGE', 'STATUS', 'DURATION', 'PEAK RAM', 'NOTE'],
            run.stages.map((stage) => [
              String(stage.idx + 1),
              stage.kind,
              STATUS_LABELS[stage.status] ?? stage.status,
              formatDuration(stage.startedAt ? (stage.finishedAt ?? Date.now()) - stage.startedAt : null),
              formatBytes(stage.peakRssBytes),
              stage.error ? `${stage.error.message}${stage.error.hint ? ` (${stage.error.hint})` : ''}` : (stage.message ?? ''),
            ]),
          ),
        );
        if (run.artifacts.length > 0) {
          ctx.out('\nArtifacts:');
          for (const artifact of run.artifacts) ctx.out(`  ${artifact.kind.padEnd(14)} ${formatBytes(artifact.sizeBytes).padStart(10)}  ${artifact.path}${artifact.sha256 ? `  sha256:${artifact.sha256.slice(0, 16)}…` : ''}`);
        }
        ctx.out(`\n${run.logCount} log lines — \`workbench runs logs ${run.id}\``);
        return EXIT.ok;
      }
      case 'logs': {
        const id = runId(positionals[0]);
        const levels = levelsFrom(values.level);
        if ('missing' in existing) throw noHistory(id, existing.missing);
        const history = ctx.engine().history;
        history.getRunSummary(id);
        // Paged so a run with millions of lines streams out instead of being read at once.
        const filter = { ...(levels ? { levels } : {}), ...(values.grep !== undefined ? { contains: values.grep } : {}) };
        let afterId = 0;
        const all = [];
        for (;;) {
          const page = history.getLogs(id, { afterId, limit: 10_000, ...filter });
          if (page.length === 0) break;
          if (values.json) all.push(...page);
          else for (const line of page) ctx.out(`${formatTimestamp(line.ts)} ${line.level.padEnd(5)} ${line.text}`);
          afterId = page[page.length - 1]!.id;
        }
        if (values.json) ctx.out(JSON.stringify(all, null, 2));
        return EXIT.ok;
      }
    }
  },
};
