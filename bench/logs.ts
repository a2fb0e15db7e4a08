/**
 * Log history benchmark: 1,000,000 log lines through the same batched path
 * the runner uses (History.appendLogs), the background full-text indexing of
 * them, then search latency. Baseline, measured in the same run: plain
 * inserts into an unindexed table in one transaction (SQLite's own cost).
 * Targets: ≥ 50,000 lines/s stored, FTS search p95 ≤ 100 ms.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { History, type NewLogLine } from '../main/core/history/history.js';
import { hostSnapshot } from '../main/core/host.js';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 1_000_000);
const QUERIES = ['attention', 'kv_cache 4096', 'lowering', 'quantize weights', 'error', 'signature prefill', 'tensor 12345', 'MLIR', 'decode', 'tflite'];
const words = ['lowering', 'attention', 'kv_cache', 'prefill', 'decode', 'tensor', 'MLIR', 'quantize', 'weights', 'signature', 'graph', 'export', 'tflite', 'layer', 'rope', 'mask'];

/** CPU seconds this process used since `start`: the fair measure on a shared, busy machine. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function lineText(i: number): string {
  return `step ${i}: ${words[i % words.length]} ${words[(i * 7) % words.length]} tensor ${i % 50_000} shape [1, ${(i % 32) * 128}, 1536] took ${(i % 997) / 10} ms${i % 1000 === 0 ? ' error: simulated failure' : ''}`;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-bench-logs-'));
try {
  // Baseline: raw SQLite insert speed with no FTS index.
  const raw = new Database(path.join(dir, 'raw.sqlite'));
  raw.pragma('journal_mode = WAL');
  raw.exec('CREATE TABLE lines (id INTEGER PRIMARY KEY, run_id INTEGER, ts INTEGER, level TEXT, text TEXT)');
  const insert = raw.prepare('INSERT INTO lines (run_id, ts, level, text) VALUES (?, ?, ?, ?)');
  let t0 = performance.now();
  let cpu0 = process.cpuUsage();
  raw.transaction(() => {
    for (let i = 0; i < LINES; i++) insert.run(1, i, 'info', lineText(i));
  })();
  const baselineRate = LINES / ((performance.now() - t0) / 1000);
  const baselineCpuRate = LINES / cpuSeconds(cpu0);
  raw.close();

  const history = new History(path.join(dir, 'history.sqlite'));
  const runId = history.createRun({ plan: { stages: [{ kind: 'selftest', params: { durationSeconds: 1, logLines: 1, failAt: null, allocateMiB: 0 } }], allowPredictedOom: false }, host: hostSnapshot() });
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  const batch: NewLogLine[] = [];
  for (let i = 0; i < LINES; i++) {
    batch.push({ runId, stageId: null, ts: Date.now(), level: i % 1000 === 0 ? 'error' : 'info', source: 'stdout', text: lineText(i) });
    // The runner hands lines over as they arrive; mimic bursts of 100.
    if (batch.length === 100) history.appendLogs(batch.splice(0));
  }
  history.appendLogs(batch.splice(0));
  history.flushLogs();
  const seconds = (performance.now() - t0) / 1000;
  const rate = LINES / seconds;
  const cpuRate = LINES / cpuSeconds(cpu0);

  // Searching while the index still lags behind (the tail is matched by substring).
  const tailLatencies: number[] = [];
  for (const query of QUERIES) {
    const start = performance.now();
    history.searchLogs(query, { limit: 200 });
    tailLatencies.push(performance.now() - start);
  }
  t0 = performance.now();
  history.indexAllLogs();
  const indexSeconds = (performance.now() - t0) / 1000;

  const latencies: number[] = [];
  let hits = 0;
  for (let round = 0; round < 10; round++) {
    for (const query of QUERIES) {
      const start = performance.now();
      hits += history.searchLogs(query, { limit: 200 }).length;
      latencies.push(performance.now() - start);
    }
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length * 0.5)]!;
  const p95 = latencies[Math.floor(latencies.length * 0.95)]!;
  history.close();

  tailLatencies.sort((a, b) => a - b);
  console.log(`log insert: ${LINES.toLocaleString()} lines stored in ${seconds.toFixed(1)} s = ${Math.round(rate).toLocaleString()} lines/s (target ≥ 50,000) ${rate >= 50_000 ? 'OK' : 'MISSED'}`);
  console.log(`  per CPU-second (independent of other load): ${Math.round(cpuRate).toLocaleString()} lines`);
  console.log(`  baseline (plain SQLite insert, no FTS, one transaction): ${Math.round(baselineRate).toLocaleString()} lines/s, ${Math.round(baselineCpuRate).toLocaleString()} per CPU-second; ratio ${(rate / baselineRate).toFixed(2)}× wall, ${(cpuRate / baselineCpuRate).toFixed(2)}× CPU`);
  console.log(`log indexing (background, full-text): ${Math.round(LINES / indexSeconds).toLocaleString()} lines/s; all ${LINES.toLocaleString()} lines searchable through the index after ${indexSeconds.toFixed(1)} s`);
  console.log(`log search before indexing (substring over the unindexed tail): max ${tailLatencies[tailLatencies.length - 1]!.toFixed(0)} ms over ${tailLatencies.length} queries`);
  console.log(`log search: ${latencies.length} FTS queries (limit 200, ${hits} hits), p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms (target ≤ 100 ms) ${p95 <= 100 ? 'OK' : 'MISSED'}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
