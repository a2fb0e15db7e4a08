/**
 * Every kind of stage the runner can execute. A kind without a definition here
 * is refused before a run starts, with a message naming it.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { StageKind } from '../../common/stages/plan.js';
import type { StageDefinition } from './definition.js';
import { bootstrapStage } from './bootstrap.js';
import { convertStage } from './convert.js';
import { demoStage } from './demo.js';
import { evaluateStage } from './evaluate.js';
import { mergeStage } from './merge.js';
import { packageStage } from './package.js';
import { recipesStage } from './recipes.js';
import { selftestStage } from './selftest.js';
import { verifyStage } from './verify.js';

const definitions = new Map<StageKind, StageDefinition>([
  [selftestStage.kind, selftestStage as StageDefinition],
  [convertStage.kind, convertStage as StageDefinition],
  [bootstrapStage.kind, bootstrapStage as StageDefinition],
  [mergeStage.kind, mergeStage as StageDefinition],
  [packageStage.kind, packageStage as StageDefinition],
  [verifyStage.kind, verifyStage as StageDefinition],
  [evaluateStage.kind, evaluateStage as StageDefinition],
  [recipesStage.kind, recipesStage as StageDefinition],
  [demoStage.kind, demoStage as StageDefinition],
]);

export function registerStage(definition: StageDefinition): void {
  definitions.set(definition.kind, definition);
}

export function stageDefinition(kind: StageKind): StageDefinition {
  const definition = definitions.get(kind);
  if (!definition) throw new WorkbenchError('stage_unavailable', `This build cannot run "${kind}" stages yet.`);
  return definition;
}
