/**
 * The file and folder parameters of each stage kind. A stage runs in its own
 * folder of the run, and the app or a remote browser has no "current folder",
 * so a plan must name paths absolutely: the runner refuses a relative one
 * with a sentence that says so, and the CLI resolves relative paths before
 * anything is sent (flags against the current folder, a plan file against
 * its own folder).
 */
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import type { RunPlan, RunPlanInput, StageKind } from '../../common/stages/plan.js';

export const STAGE_PATH_PARAMS: Readonly<Record<StageKind, readonly string[]>> = {
  selftest: [],
  merge: ['baseDir', 'adapterDir', 'outDir'],
  convert: ['modelDir', 'outDir'],
  package: ['tflitePath', 'modelDir', 'outPath'],
  verify: ['modelDir', 'bundlePath', 'metadataPath'],
  bootstrap: ['pythonPath'],
  evaluate: ['modelDir', 'bundlePath', 'promptsFile'],
  recipes: ['modelDir', 'outDir', 'promptsFile'],
  demo: ['outDir'],
};

/** A relative path in a path parameter; a bare interpreter name ("python3") is looked up on PATH, so it is not one. */
function isRelativePath(field: string, value: unknown): value is string {
  if (typeof value !== 'string' || value === '' || path.isAbsolute(value)) return false;
  return !(field === 'pythonPath' && !value.includes('/') && !value.includes('\\'));
}

/** A copy of the plan with every relative path parameter resolved against `baseDir`. */
export function resolvePlanPaths<P extends RunPlanInput>(plan: P, baseDir: string): P {
  if (!Array.isArray(plan.stages)) return plan;
  return {
    ...plan,
    stages: plan.stages.map((stage) => {
      const fields = STAGE_PATH_PARAMS[stage.kind as StageKind];
      if (!fields || !stage.params || typeof stage.params !== 'object') return stage;
      const params: Record<string, unknown> = { ...stage.params };
      for (const field of fields) {
        const value = params[field];
        if (isRelativePath(field, value)) params[field] = path.resolve(baseDir, value);
      }
      return { ...stage, params };
    }),
  } as P;
}

/** Refuses a validated plan that still holds a relative path. */
export function requireAbsolutePlanPaths(plan: RunPlan): void {
  for (const [index, stage] of plan.stages.entries()) {
    for (const field of STAGE_PATH_PARAMS[stage.kind]) {
      const value = (stage.params as Record<string, unknown>)[field];
      if (isRelativePath(field, value)) {
        throw new WorkbenchError(
          'invalid_plan',
          `stages.${index}.params.${field}: "${value}" is a relative path; give an absolute path (a stage runs in its own folder, so a relative path would point somewhere unexpected).`,
          { stage: index, field },
        );
      }
    }
  }
}
