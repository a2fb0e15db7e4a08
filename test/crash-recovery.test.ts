/**
 * A server killed with SIGKILL in the middle of a run: after a restart the
 * run is `interrupted` and every log line committed before the kill is there.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine, RunDetail } from '../main/common/runs.js';
import { api, freshDataDir, startServe, waitFor, type ServeProcess } from './helpers/serve.js';

let servers: ServeProcess[] = [];
afterEach(async () => {
  for (const server of servers) await server.stop();
  servers = [];
});

describe('crash recovery', () => {
  it('marks a run interrupted after SIGKILL and keeps every committed log line', async () => {
    const dataDir = freshDataDir('wb-crash');
    const first = await startServe({ dataDir });
    servers.push(first);
    const { id } = await api<{ id: number }>(first, 'runs.start', {
      plan: { name: 'crash me', stages: [{ kind: 'selftest', params: { durationSeconds: 60, logLines: 60_000 } }] },
    });
    await waitFor(async () => (await api<{ lines: LogLine[] }>(first, 'runs.logs', { id, limit: 2000 })).lines.length >= 2000, 'log lines to be written');

    // What a separate reader sees as committed right before the kill.
    const reader = new Database(path.join(dataDir, 'history.sqlite'), { readonly: true });
    const committed = reader.prepare('SELECT id, text FROM log_lines WHERE run_id = ? ORDER BY id').all(id) as { id: number; text: string }[];
    reader.close();
    const killedAt = Date.now();
    first.child.kill('SIGKILL');
    await first.child;
    expect(committed.length).toBeGreaterThan(1000);
    // Found later: the run must keep the time it was last seen alive, not the time it was found.
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const second = await startServe({ dataDir });
    servers.push(second);
    const run = await api<RunDetail>(second, 'runs.get', { id });
    expect(run.status).toBe('interrupted');
    expect(run.stages[0]!.status).toBe('interrupted');
    expect(run.finishedAt).toBeLessThanOrEqual(killedAt);
    expect(run.stages[0]!.finishedAt).toBeLessThanOrEqual(killedAt);
    const after: LogLine[] = [];
    for (let afterId = 0; ; ) {
      const { lines } = await api<{ lines: LogLine[] }>(second, 'runs.logs', { id, afterId, limit: 50_000 });
      if (lines.length === 0) break;
      after.push(...lines);
      afterId = lines[lines.length - 1]!.id;
    }
    const byId = new Map(after.map((line) => [line.id, line.text]));
    for (const line of committed) expect(byId.get(line.id)).toBe(line.text);
    expect(after.some((line) => line.source === 'system' && line.text.startsWith('The run was interrupted'))).toBe(true);
    // The restarted server runs new work normally.
    const next = await api<{ id: number }>(second, 'runs.start', { plan: { stages: [{ kind: 'selftest', params: { durationSeconds: 0.2, logLines: 5 } }] } });
    await waitFor(async () => (await api<RunDetail>(second, 'runs.get', { id: next.id })).status === 'succeeded', 'the next run to succeed');
  }, 60_000);
});
