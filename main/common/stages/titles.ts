/** What each stage kind is called wherever a person reads it (run pages, Review, Compare): one list, every kind. */
import type { StageKind } from './plan.js';

export const STAGE_TITLES: Record<StageKind, string> = {
  selftest: 'Self-test',
  merge: 'LoRA merge',
  convert: 'Conversion',
  package: 'Packaging',
  verify: 'Verification',
  bootstrap: 'Python environment set-up',
  evaluate: 'Behaviour check',
  recipes: 'Compare quantizations',
  demo: 'Demonstration model: train, convert, package',
};

/** The title of a stage kind, or the kind itself for one this build does not know (an older or newer history). */
export function stageTitle(kind: string): string {
  return (STAGE_TITLES as Record<string, string>)[kind] ?? kind;
}
