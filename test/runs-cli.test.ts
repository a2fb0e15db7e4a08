/**
 * `workbench runs list | show | logs` through the built CLI as a child
 * process, on a real history database seeded with History: option checking
 * (usage errors exit 2 in one sentence), log filters with grep semantics and
 * a minimum level, the empty-result messages, and readable overrides.
 */
import { execa } from 'execa';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../main/common/runs.js';
import type { LogLevel } from '../main/common/stageProtocol.js';
import { History } from '../main/core/history/history.js';
import { hostSnapshot } from '../main/core/host.js';
import { CLI, freshDataDir } from './helpers/serve.js';

const selftestPlan = { stages: [{ kind: 'selftest' as const, params: { durationSeconds: 1, logLines: 1, failAt: null, allocateMiB: 0 } }], allowPredictedOom: false };

/** What the memory preflight records for a conversion started under the expert override. */
const forcedPreflight = {
  allowPredictedOom: { source: 'plan' },
  preflight: [
    {
      memoryEstimate: {
        peakBytes: { low: 24 * 2 ** 30, expected: 30 * 2 ** 30, high: 36 * 2 ** 30 },
        durationSec: { low: 1200, expected: 1800, high: 2700 },
        peakPhase: 'convert',
        calibration: { calibrated: false, runs: 0 },
      },
      memoryVerdict: { fit: 'blocked', reason: 'Predicted peak 30.0 GiB exceeds the 13.6 GiB budget on this host.', budgetBytes: 13.6 * 2 ** 30 },
      host: { totalBytes: 16 * 2 ** 30, availableBytes: 14 * 2 ** 30 },
      largestSafeContext: 4096,
      override: true,
    },
  ],
};

const LINES: [LogLevel, string][] = [
  ['debug', 'tracing the graph'],
  ['info', 'The file does not exist'],
  ['warn', 'careful (value) near the limit'],
  ['error', 'Conversion ERROR in café stage'],
  ['info', 'plain cafe line'],
  ['info', 'CAFÉ au lait'],
  ['info', 'discount 100%_off'],
];

let dataDir: string;
let emptyDataDir: string;
let logsRun: number;
let failedRun: number;

function seed(dir: string, build: (history: History) => void): void {
  const history = new History(path.join(dir, 'history.sqlite'));
  try {
    build(history);
  } finally {
    history.close();
  }
}

/** A finished run (a queued or running one without a live owner would be marked interrupted when the CLI opens the database). */
function finishedRun(history: History, status: 'succeeded' | 'failed', overrides: Record<string, unknown> | null = null): number {
  const id = history.createRun({ plan: selftestPlan, host: hostSnapshot(), overrides });
  history.setRunStatus(id, 'running');
  history.setRunStatus(id, status);
  return id;
}

function cli(args: string[], dir = dataDir) {
  return execa(process.execPath, [CLI, '--data-dir', dir, ...args], { reject: false });
}

async function logTexts(args: string[]): Promise<string[]> {
  const result = await cli(['runs', 'logs', String(logsRun), ...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  return (JSON.parse(result.stdout) as LogLine[]).map((line) => line.text);
}

/** A usage error: exit 2, one sentence on stderr, no stack trace. */
function expectUsageError(result: Awaited<ReturnType<typeof cli>>, pattern: RegExp): void {
  expect(result.exitCode).toBe(2);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at |internal error|SqliteError|"code":/);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
}

beforeAll(() => {
  dataDir = freshDataDir('wb-runs-cli');
  emptyDataDir = freshDataDir('wb-runs-cli-empty');
  seed(dataDir, (history) => {
    logsRun = finishedRun(history, 'succeeded');
    failedRun = finishedRun(history, 'failed', forcedPreflight);
    history.appendLogs(LINES.map(([level, text]) => ({ runId: logsRun, stageId: null, ts: Date.now(), level, source: 'stdout' as const, text })));
    // Lines of another run must never leak into this run's output.
    history.appendLogs([{ runId: failedRun, stageId: null, ts: Date.now(), level: 'error', source: 'stderr', text: 'The other run does not exist either' }]);
    history.flushLogs();
    history.indexAllLogs();
  });
});

afterAll(() => {
  for (const dir of [dataDir, emptyDataDir]) rmSync(dir, { recursive: true, force: true });
});

describe('workbench runs logs --level', () => {
  it('shows lines at or above the level, whatever its case', async () => {
    expect(await logTexts(['--level', 'warn'])).toEqual(['careful (value) near the limit', 'Conversion ERROR in café stage']);
    expect(await logTexts(['--level', 'debug'])).toEqual(LINES.map(([, text]) => text));
    expect(await logTexts(['--level', 'ERROR'])).toEqual(['Conversion ERROR in café stage']);
    expect(await logTexts(['--level', 'Info'])).toHaveLength(LINES.length - 1);
  });

  it('refuses an unknown level, naming the allowed ones', async () => {
    expectUsageError(await cli(['runs', 'logs', String(logsRun), '--level', 'bogus']), /"bogus".*debug, info, warn, error/);
  });

  it('prints the lines as text without --json', async () => {
    const result = await cli(['runs', 'logs', String(logsRun), '--level', 'error']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(/ error Conversion ERROR in café stage$/);
  });
});

describe('workbench runs logs --grep', () => {
  it('matches a substring of the line, not whole words', async () => {
    expect(await logTexts(['--grep', 'xist'])).toEqual(['The file does not exist']);
    expect(await logTexts(['--grep', 'not does'])).toEqual([]);
    expect(await logTexts(['--grep', 'does not'])).toEqual(['The file does not exist']);
  });

  it('matches punctuation and LIKE wildcards literally', async () => {
    expect(await logTexts(['--grep', '('])).toEqual(['careful (value) near the limit']);
    expect(await logTexts(['--grep', '%_'])).toEqual(['discount 100%_off']);
    expect(await logTexts(['--grep', '_'])).toEqual(['discount 100%_off']);
  });

  it('ignores case, for non-ASCII letters too, but never drops an accent', async () => {
    expect(await logTexts(['--grep', 'error'])).toEqual(['Conversion ERROR in café stage']);
    expect(await logTexts(['--grep', 'é'])).toEqual(['Conversion ERROR in café stage', 'CAFÉ au lait']);
    expect(await logTexts(['--grep', 'CAFÉ'])).toEqual(['Conversion ERROR in café stage', 'CAFÉ au lait']);
    expect(await logTexts(['--grep', 'cafe'])).toEqual(['plain cafe line']);
  });

  it('combines with --level and keeps to the one run', async () => {
    expect(await logTexts(['--grep', 'caf', '--level', 'warn'])).toEqual(['Conversion ERROR in café stage']);
    expect(await logTexts(['--grep', 'other run'])).toEqual([]);
  });
});

describe('workbench runs list', () => {
  it('refuses a --limit that is not a positive whole number', async () => {
    for (const limit of ['abc', '0', '-1', '1.5', '']) {
      expectUsageError(await cli(['runs', 'list', `--limit=${limit}`]), /--limit.*positive whole number/);
    }
    // An option of another subcommand is refused rather than silently ignored.
    expectUsageError(await cli(['runs', 'list', '--grep', 'x']), /--grep does not apply to `workbench runs list`/);
    const one = await cli(['runs', 'list', '--limit', '1']);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain('(1 of 2; use --limit to see more)');
  });

  it('refuses an unknown status, listing the valid ones', async () => {
    expectUsageError(await cli(['runs', 'list', '--status', 'nonsense']), /"nonsense".*queued, running, succeeded, failed, cancelled, interrupted, stopped_by_guard/);
    const failed = await cli(['runs', 'list', '--status', 'FAILED,succeeded', '--json']);
    expect(failed.exitCode).toBe(0);
    expect(JSON.parse(failed.stdout).total).toBe(2);
  });

  it('says no run matches a filter when there are runs, and "No runs yet." only for an empty history', async () => {
    for (const filter of [['--status', 'cancelled'], ['--search', '*'], ['--search', 'zzzunfound']]) {
      const result = await cli(['runs', 'list', ...filter]);
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toMatch(/^No run matches/);
      expect(result.stdout).not.toContain('No runs yet');
    }
    // A folder without a history says so (cli-options.test.ts); an existing history without runs is "No runs yet.".
    new History(path.join(emptyDataDir, 'history.sqlite')).close();
    const empty = await cli(['runs', 'list'], emptyDataDir);
    expect(empty.exitCode).toBe(0);
    expect(empty.stdout).toMatch(/^No runs yet\./);
  });
});

describe('workbench runs show', () => {
  it('prints the overrides readably: the memory preflight in human units, one line each', async () => {
    const result = await cli(['runs', 'show', String(failedRun)]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toMatch(/Overrides: \{|"preflight"/);
    expect(result.stdout).toMatch(/Overrides:\n/);
    expect(result.stdout).toMatch(/^ +allow predicted out of memory: yes \(set in the plan\)$/m);
    expect(result.stdout).toMatch(
      /^ +memory preflight: predicted peak 30\.0 GiB \(up to 36\.0 GiB\), about 30 min 00 s; verdict: blocked, budget 13\.6 GiB; host 16\.0 GiB RAM, 14\.0 GiB available; largest context predicted to fit: 4096; started under the expert override$/m,
    );
    // The JSON keeps the stored structure for scripts.
    const json = await cli(['runs', 'show', String(failedRun), '--json']);
    expect(JSON.parse(json.stdout).overrides).toEqual(forcedPreflight);
  });

  it('prints no overrides section for a run without any', async () => {
    const result = await cli(['runs', 'show', String(logsRun)]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).not.toContain('Overrides');
  });
});
