/**
 * `workbench runs list | show <id> | logs <id>`: the run history from the
 * terminal, same database as the app.
 */
import { parseArgs } from 'node:util';
import { formatBytes, formatDuration, formatTimestamp, STATUS_LABELS } from '../../common/format.js';
import { HIGHLIGHT_END, HIGHLIGHT_START, RunStatus, type RunSummary } from '../../common/runs.js';
import { WorkbenchError } from '../../common/errors.js';
import { EXIT, type CliCommand } from '../context.js';
import { renderTable } from '../table.js';

function keyParamsText(run: RunSummary): string {
  return Object.entries(run.keyParams)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

function runId(value: string | undefined): number {
  const id = Number(value);
  if (!value || !Number.isInteger(id) || id <= 0) throw new WorkbenchError('usage', `Expected a run id (a positive whole number), got "${value ?? ''}".`);
  return id;
}

export const runsCommand: CliCommand = {
  name: 'runs',
  summary: 'List past runs, show one, or print its logs',
  usage: `workbench runs list [--status S,...] [--search TEXT] [--limit N] [--json]
workbench runs show <id> [--json]
workbench runs logs <id> [--grep TEXT] [--level debug|info|warn|error] [--json]`,
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
      },
    });
    const history = ctx.engine().history;
    switch (sub) {
      case 'list': {
        const status = values.status?.split(',').map((s) => RunStatus.parse(s.trim()));
        const limit = values.limit ? Number(values.limit) : 50;
        const { runs, total } = history.listRuns({ ...(status ? { status } : {}), ...(values.search ? { logQuery: values.search } : {}), limit });
        if (values.json) {
          ctx.out(JSON.stringify({ runs, total }, null, 2));
          return EXIT.ok;
        }
        if (runs.length === 0) {
          ctx.out('No runs yet. Start one with `workbench run --plan plan.json` or from the app.');
          return EXIT.ok;
        }
        ctx.out(
          renderTable(
            ['ID', 'STATUS', 'MODEL', 'PARAMETERS', 'DURATION', 'PEAK RAM', 'STARTED'],
            runs.map((run) => [
              String(run.id),
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
        const run = history.getRun(runId(positionals[0]));
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
        if (run.overrides) ctx.out(`Overrides: ${JSON.stringify(run.overrides)}`);
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
        history.getRunSummary(id);
        if (values.grep) {
          const hits = history.searchLogs(values.grep, { runId: id, limit: 100_000 }).reverse();
          if (values.json) ctx.out(JSON.stringify(hits, null, 2));
          else for (const hit of hits) ctx.out(`${formatTimestamp(hit.ts)} ${hit.level.padEnd(5)} ${hit.snippet.replaceAll(HIGHLIGHT_START, '').replaceAll(HIGHLIGHT_END, '')}`);
          return EXIT.ok;
        }
        const levels = values.level ? [values.level as 'debug' | 'info' | 'warn' | 'error'] : undefined;
        let afterId = 0;
        const all = [];
        for (;;) {
          const page = history.getLogs(id, { afterId, limit: 10_000, ...(levels ? { levels } : {}) });
          if (page.length === 0) break;
          if (values.json) all.push(...page);
          else for (const line of page) ctx.out(`${formatTimestamp(line.ts)} ${line.level.padEnd(5)} ${line.text}`);
          afterId = page[page.length - 1]!.id;
        }
        if (values.json) ctx.out(JSON.stringify(all, null, 2));
        return EXIT.ok;
      }
      default:
        ctx.err(`Usage:\n${this.usage}`);
        return EXIT.usage;
    }
  },
};
