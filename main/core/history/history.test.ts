import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HIGHLIGHT_END, HIGHLIGHT_START } from '../../common/runs.js';
import { hostSnapshot } from '../host.js';
import { History, toFtsQuery } from './history.js';

let history: History;
afterEach(() => history?.close());

const open = () => new History(path.join(mkdtempSync(path.join(os.tmpdir(), 'wb-hist-')), 'history.sqlite'));
const plan = { stages: [{ kind: 'selftest' as const, params: { durationSeconds: 1, logLines: 1, failAt: null, allocateMiB: 0 } }], allowPredictedOom: false };

function addLines(runId: number, texts: string[]): void {
  history.appendLogs(texts.map((text) => ({ runId, stageId: null, ts: Date.now(), level: 'info' as const, source: 'stdout' as const, text })));
  history.flushLogs();
}

describe('toFtsQuery', () => {
  it('quotes every term so punctuation is literal and prefix-matches the last one', () => {
    expect(toFtsQuery('kv_cache 4096')).toBe('"kv_cache" "4096"*');
    expect(toFtsQuery('say "hi" -x OR')).toBe('"say" """hi""" "-x" "OR"*');
    expect(toFtsQuery('   ')).toBeNull();
  });
});

describe('History log search', () => {
  it('finds lines before and after background indexing, newest first, with marks', () => {
    history = open();
    const a = history.createRun({ plan, host: hostSnapshot() });
    const b = history.createRun({ plan, host: hostSnapshot() });
    addLines(a, ['lowering attention to MLIR', 'quantize weights: int8']);
    addLines(b, ['attention mask built for kv_cache 4096']);
    // Not indexed yet: matched by substring.
    expect(history.indexedUpto()).toBe(0);
    const before = history.searchLogs('attention');
    expect(before.map((hit) => hit.runId)).toEqual([b, a]);
    expect(before[0]!.snippet).toContain(`${HIGHLIGHT_START}attention${HIGHLIGHT_END}`);
    history.indexAllLogs();
    expect(history.indexedUpto()).toBeGreaterThan(0);
    const after = history.searchLogs('attention');
    expect(after.map((hit) => hit.lineId)).toEqual(before.map((hit) => hit.lineId));
    expect(after[0]!.snippet).toContain(`${HIGHLIGHT_START}attention${HIGHLIGHT_END}`);
    expect(history.searchLogs('kv_cache 4096', { runId: b })).toHaveLength(1);
    expect(history.searchLogs('kv_cache 4096', { runId: a })).toHaveLength(0);
    // Punctuation that is FTS syntax is searched literally, not rejected.
    expect(() => history.searchLogs('weights: "int8')).not.toThrow();
    expect(history.listRuns({ logQuery: 'quantize' }).runs.map((run) => run.id)).toEqual([a]);
  });

  it('mixes indexed and unindexed lines and keeps the index consistent when runs are deleted', () => {
    history = open();
    const a = history.createRun({ plan, host: hostSnapshot() });
    addLines(a, ['decode step one']);
    history.indexAllLogs();
    addLines(a, ['decode step two']);
    expect(history.searchLogs('decode').map((hit) => hit.snippet.replaceAll(HIGHLIGHT_START, '').replaceAll(HIGHLIGHT_END, ''))).toEqual(['decode step two', 'decode step one']);
    history.deleteRun(a);
    expect(history.searchLogs('decode')).toEqual([]);
    history.db.exec("INSERT INTO log_fts(log_fts) VALUES ('integrity-check')");
  });

  it('filters one run\'s lines by substring, ignoring case (non-ASCII letters too), with every character literal', () => {
    history = open();
    const a = history.createRun({ plan, host: hostSnapshot() });
    const b = history.createRun({ plan, host: hostSnapshot() });
    addLines(a, ['The file does not exist', 'careful (value)', '100%_off', '100% off', 'Ärger über café', 'ÄRGER ÜBER CAFÉ', 'plain cafe']);
    addLines(b, ['does not exist in b']);
    const grep = (contains: string) => history.getLogs(a, { contains }).map((line) => line.text);
    expect(grep('xist')).toEqual(['The file does not exist']);
    expect(grep('NOT EXIST')).toEqual(['The file does not exist']);
    expect(grep('not does')).toEqual([]);
    expect(grep('(')).toEqual(['careful (value)']);
    expect(grep('%_')).toEqual(['100%_off']);
    expect(grep('0%')).toEqual(['100%_off', '100% off']);
    expect(grep('\\')).toEqual([]);
    expect(grep('über')).toEqual(['Ärger über café', 'ÄRGER ÜBER CAFÉ']);
    expect(grep('Café')).toEqual(['Ärger über café', 'ÄRGER ÜBER CAFÉ']);
    expect(grep('cafe')).toEqual(['plain cafe']);
    expect(grep('é')).toHaveLength(2);
    expect(grep('')).toHaveLength(7);
    // Paging and the level filter still apply.
    const first = history.getLogs(a, { contains: 'caf', limit: 1 });
    expect(history.getLogs(a, { contains: 'caf', afterId: first[0]!.id }).map((line) => line.text)).toEqual(['ÄRGER ÜBER CAFÉ', 'plain cafe']);
    expect(history.getLogs(a, { contains: 'caf', levels: ['warn', 'error'] })).toEqual([]);
    // The cross-run full-text search keeps its word semantics.
    history.indexAllLogs();
    expect(history.searchLogs('xist')).toEqual([]);
    expect(history.searchLogs('exist').map((hit) => hit.runId)).toEqual([b, a]);
  });

  it('marks runs left running by a dead owner as interrupted, and leaves the runs of a live owner alone', () => {
    history = open();
    const dead = history.createRun({ plan, host: hostSnapshot(), owner: { pid: 1_000_001, token: 'gone' } });
    const live = history.createRun({ plan, host: hostSnapshot(), owner: { pid: process.pid, token: 'me' } });
    history.setRunStatus(dead, 'running');
    history.setRunStatus(live, 'running');
    addLines(dead, ['work before the crash']);
    const recovered = history.recoverInterrupted((pid) => pid === process.pid);
    expect(recovered).toEqual([dead]);
    expect(history.getRun(dead).status).toBe('interrupted');
    expect(history.getRun(dead).stages[0]!.status).toBe('skipped');
    expect(history.getLogs(dead).map((line) => line.text)).toContain('work before the crash');
    expect(history.getRun(live).status).toBe('running');
  });
});
