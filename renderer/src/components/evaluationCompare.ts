/**
 * Behaviour-check rows for the Compare page: for an evaluate stage, the
 * verdict, the match counts, the teacher-forced agreement and each prompt's
 * bundle answer (with whether it stopped), so runs before and after a fix
 * line up prompt by prompt with the differences marked.
 */
import { EvaluateResult } from '../../../main/common/stages/evaluate';
import type { RunDetail } from '../../../main/common/runs';

export interface CompareRow {
  label: string;
  section: string;
  values: string[];
}

/** `pick` finds the stage to compare in each run (the Compare page matches stages by kind). */
export function evaluationCompareRows(runs: RunDetail[], pick: (run: RunDetail) => { result?: unknown } | undefined, section: string): CompareRow[] {
  const results = runs.map((run) => {
    const parsed = EvaluateResult.safeParse((pick(run)?.result as { evaluation?: unknown } | null | undefined)?.evaluation);
    return parsed.success ? parsed.data : null;
  });
  if (results.every((r) => r === null)) return [];
  const rows: CompareRow[] = [];
  const add = (label: string, pick: (r: EvaluateResult) => string) => rows.push({ section, label, values: results.map((r) => (r ? pick(r) : '—')) });
  add('behaviour: verdict', (r) => r.summary.text);
  add('behaviour: first cause', (r) => (r.summary.causes[0] ? `${r.summary.causes[0].latent ? 'latent ' : ''}${r.summary.causes[0].kind}` : '—'));
  add('behaviour: causes', (r) => r.summary.causes.map((c) => `${c.latent ? 'latent ' : ''}${c.kind}${c.prompts.length > 0 ? ` (${c.prompts.length})` : ''}`).join(', ') || '—');
  add('behaviour: answers matching the reference', (r) => `${r.summary.bundleMatches}/${r.summary.prompts} (greedy ${r.summary.greedyMatches}/${r.summary.prompts})`);
  add('behaviour: never stopped', (r) => `${r.summary.bundleNeverStopped}/${r.summary.prompts}`);
  add('behaviour: teacher-forced top-1', (r) => (r.summary.numeric ? `${(r.summary.numeric.top1Agreement * 100).toFixed(1)}% of ${r.summary.numeric.positions}` : '—'));
  const labels = [...new Set(results.flatMap((r) => r?.prompts.map((p) => p.label) ?? []))];
  for (const label of labels) {
    add(`prompt "${label}": bundle answer`, (r) => {
      const p = r.prompts.find((x) => x.label === label);
      return p ? `${JSON.stringify(p.bundle.text)} (${p.bundle.error ? 'error' : p.bundle.stopped ? 'stopped' : `ran to ${p.bundle.stopReason}`})` : '—';
    });
  }
  return rows;
}
