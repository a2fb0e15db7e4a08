/**
 * Per-capability panels on a run's page (memory chart, merge summary,
 * fidelity report, …). Each capability adds its panel here; a panel renders
 * nothing when the run has nothing for it.
 */
import type { RunDetail } from '../../../main/common/runs';

export function RunExtras({ run }: { run: RunDetail }) {
  void run;
  return null;
}
