/**
 * The note under a stage of the run page that is not running. A succeeded
 * stage's last message is its outcome (each stage script ends with one); a
 * stage that did not succeed says where it stopped — never "100 %" or its
 * "done" phase, which would read as finished, and never its last "… ETA"
 * progress line.
 */
import { STATUS_LABELS } from '../../../main/common/format';
import type { StageRecord } from '../../../main/common/runs';

export function finishedNote(stage: Pick<StageRecord, 'status' | 'progress' | 'phase' | 'message'>): string | null {
  if (stage.status === 'pending' || stage.status === 'skipped') return null;
  if (stage.status === 'succeeded' || stage.status === 'reused') return stage.message;
  if (stage.progress === null || stage.progress <= 0) return null;
  const how = (STATUS_LABELS[stage.status] ?? stage.status).replace(/^./, (c) => c.toUpperCase());
  const phase = stage.phase && stage.phase !== 'done' ? stage.phase : null;
  // Work that reached its last step and then failed is not "100 % done".
  if (stage.progress >= 0.995) return `${how} after its last step${phase ? ` (${phase})` : ''}; see the error above.`;
  return `${how} at ${Math.min(99, Math.round(stage.progress * 100))} %${phase ? ` (${phase})` : ''}.`;
}
