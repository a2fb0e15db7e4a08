/**
 * The history of behaviour checks: every prompt of an evaluate stage's
 * result stored as a row (migration 002), searchable by text across runs and
 * listed per run for the run and Compare pages.
 */
import type { EvaluationRow } from '../../common/evaluations.js';
import { EvaluateResult } from '../../common/stages/evaluate.js';
import type { Db } from './database.js';

/** Stores the prompts of a stage result that carries an evaluation; other results are left alone. */
export function recordEvaluationRows(db: Db, runId: number, stageId: number, result: Record<string, unknown>): number {
  const parsed = EvaluateResult.safeParse(result.evaluation);
  if (!parsed.success) return 0;
  const insert = db.prepare(`INSERT OR REPLACE INTO evaluation_prompts
    (run_id, stage_id, idx, label, prompt, reference_text, reference_stopped, bundle_text, bundle_stopped, greedy_text, greedy_stopped, first_divergence, repetition, top1_agreement)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    for (const p of parsed.data.prompts) {
      insert.run(
        runId, stageId, p.index, p.label, p.messages[p.messages.length - 1]!.content,
        p.reference.text, Number(p.reference.stopped), p.bundle.text, Number(p.bundle.stopped), p.greedy.text, Number(p.greedy.stopped),
        p.firstDivergence.token, p.repetition, p.numeric?.top1Agreement ?? null,
      );
    }
  })();
  return parsed.data.prompts.length;
}

interface Row {
  run_id: number;
  stage_id: number;
  idx: number;
  label: string;
  prompt: string;
  reference_text: string;
  reference_stopped: number;
  bundle_text: string;
  bundle_stopped: number;
  greedy_text: string;
  greedy_stopped: number;
  first_divergence: number | null;
  repetition: number;
  top1_agreement: number | null;
}

function toRow(r: Row): EvaluationRow {
  return {
    runId: r.run_id,
    stageId: r.stage_id,
    index: r.idx,
    label: r.label,
    prompt: r.prompt,
    referenceText: r.reference_text,
    referenceStopped: r.reference_stopped === 1,
    bundleText: r.bundle_text,
    bundleStopped: r.bundle_stopped === 1,
    greedyText: r.greedy_text,
    greedyStopped: r.greedy_stopped === 1,
    firstDivergence: r.first_divergence,
    repetition: r.repetition,
    top1Agreement: r.top1_agreement,
  };
}

export function evaluationRows(db: Db, runId: number): EvaluationRow[] {
  return (db.prepare('SELECT * FROM evaluation_prompts WHERE run_id = ? ORDER BY stage_id, idx').all(runId) as Row[]).map(toRow);
}

/** Prompts whose prompt or any answer contains `text` (case-insensitive), newest runs first. */
export function searchEvaluations(db: Db, text: string, limit = 200): EvaluationRow[] {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return (
    db
      .prepare(
        `SELECT * FROM evaluation_prompts WHERE prompt LIKE @p ESCAPE '\\' OR reference_text LIKE @p ESCAPE '\\' OR bundle_text LIKE @p ESCAPE '\\' OR greedy_text LIKE @p ESCAPE '\\'
         ORDER BY run_id DESC, idx LIMIT @limit`,
      )
      .all({ p: pattern, limit }) as Row[]
  ).map(toRow);
}
