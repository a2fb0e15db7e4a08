/**
 * Migration 2 and the behaviour-check rows: a real SQLite file migrated from
 * version 1, an evaluate result stored as rows, found by text, removed with its run.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { EvaluateResult } from '../../common/stages/evaluate.js';
import { migrate } from './database.js';
import { evaluationRows, recordEvaluationRows, searchEvaluations } from './evaluations.js';
import { migrations } from './migrations/index.js';

const answer = (text: string, stopped: boolean) => ({ text, stopped, stopToken: stopped ? '<|im_end|>' : null, stopReason: stopped ? 'stop-token' : 'max-tokens', tokens: 3, repetition: 0, error: null });

const result: EvaluateResult = {
  modelDir: '/m',
  bundlePath: '/b.litertlm',
  referenceBackend: 'plain_lm',
  engineVersion: '0.17.1',
  maxTokens: 8,
  prompts: [
    {
      index: 0,
      label: 'capital',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      reference: answer('Paris.', true),
      bundle: answer('Paris.<|im_end|><|im_end|>', false),
      greedy: answer('Paris.', true),
      firstDivergence: { token: 2, char: 6 },
      greedyDivergence: { token: null, char: null },
      repetition: 0.25,
      numeric: { positions: 3, maxAbsLogitError: 0.001, meanKl: 1e-9, maxKl: 1e-8, top1Agreement: 1, firstTop1Miss: null },
      input: null,
      cause: null,
    },
  ],
  summary: { prompts: 1, bundleMatches: 0, greedyMatches: 1, bundleNeverStopped: 1, referenceStopped: 1, loops: 0, causes: [], text: 'x', numeric: null },
  failingChecks: [],
  bundleFacts: null,
};

describe('migration 2: behaviour-check rows', () => {
  it('adds the table to a version-1 database; rows are stored, searched and deleted with their run', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, migrations.slice(0, 1));
    db.prepare("INSERT INTO runs (id, status, plan_json, host_json, created_at) VALUES (1, 'succeeded', '{}', '{}', 0)").run();
    db.prepare("INSERT INTO stages (id, run_id, idx, kind, status, params_json) VALUES (5, 1, 0, 'evaluate', 'succeeded', '{}')").run();
    migrate(db, migrations.slice(0, 2));
    expect(recordEvaluationRows(db, 1, 5, { evaluation: result })).toBe(1);
    expect(recordEvaluationRows(db, 1, 5, { other: true })).toBe(0);
    const rows = evaluationRows(db, 1);
    expect(rows).toEqual([expect.objectContaining({ runId: 1, stageId: 5, label: 'capital', referenceStopped: true, bundleStopped: false, firstDivergence: 2, top1Agreement: 1 })]);
    expect(searchEvaluations(db, 'IM_END')).toHaveLength(1);
    expect(searchEvaluations(db, '100%_')).toHaveLength(0);
    db.prepare('DELETE FROM runs WHERE id = 1').run();
    expect(evaluationRows(db, 1)).toEqual([]);
    db.close();
  });
});
