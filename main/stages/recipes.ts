/**
 * The recipes stage: converts, packages and measures the model once per
 * quantization recipe and recommends one (main/core/recipes/run.ts). Stores
 * the table as the result and a JSON report artifact; SIGTERM (cancel) stops
 * between steps.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { RecipesParams } from '../common/recipes.js';
import { runRecipes } from '../core/recipes/run.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

await runStage(async () => {
  const params = readStageParams(RecipesParams);
  const workDir = process.env.WORKBENCH_STAGE_DIR ?? path.join(os.tmpdir(), `workbench-recipes-${process.pid}`);
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    stageOut.log('warn', 'Cancel requested: stopping after the current step.');
    controller.abort();
  });
  const result = await runRecipes(params, {
    python: process.env.WORKBENCH_PYTHON ?? null,
    workDir,
    signal: controller.signal,
    reporter: {
      progress: (fraction, phase, message) => stageOut.progress(fraction, phase, message),
      log: (level, text) => stageOut.log(level, text),
      metric: (name, value, unit) => stageOut.metric(name, value, unit),
    },
  });
  const report = path.join(workDir, 'recipes-report.json');
  await writeFile(report, `${JSON.stringify(result, null, 2)}\n`);
  stageOut.artifact('recipes-report', report);
  for (const r of result.recipes) if (!r.error) stageOut.artifact('bundle', r.bundle);
  stageOut.result({ recipes: result });
});
