/**
 * How the demo stage (issue 18 item 9: the demonstration started from the
 * New run page) is launched: the Node stage script main/stages/demo.ts,
 * which trains, converts and packages in its own process, with the
 * reference Python the behaviour check uses. The preflight gives the same
 * one sentence `workbench demo` gives when that Python cannot import torch,
 * so a button press without torch is an error on the page, never a failed
 * run; and it refuses a folder that already holds a finished demo, so an
 * earlier demo is never overwritten silently.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { DEMO_FILES } from '../../common/stages/demo.js';
import { requireTorch } from '../demo/demoModel.js';
import { referencePython } from '../env/python.js';
import { nodeStageScript } from '../paths.js';
import { nodeLaunch, type StageDefinition } from './definition.js';

/** Refuses an output path that is a file or a folder holding a finished demo's bundles. */
export function requireFreshDemoFolder(outDir: string): void {
  const dir = path.resolve(outDir);
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new WorkbenchError('not_a_folder', `${dir} is a file; name a folder for the demonstration model and its bundles.`, { path: dir });
  const finished = [DEMO_FILES.shipped, DEMO_FILES.fixed].filter((name) => existsSync(path.join(dir, name)));
  if (finished.length > 0) {
    throw new WorkbenchError('demo_output_exists', `${dir} already holds a demonstration (${finished.join(', ')}); choose a new folder or delete that one.`, { path: dir });
  }
}

export const demoStage: StageDefinition<'demo'> = {
  kind: 'demo',
  title: 'Demonstration model',
  async preflight(params, ctx) {
    requireFreshDemoFolder(params.outDir);
    requireTorch(await referencePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath }));
    return [];
  },
  async launch(_params, ctx) {
    const launch = nodeLaunch(nodeStageScript('demo'), ctx);
    const python = await referencePython({ dataDir: ctx.dataDir, settingsPath: ctx.settings.pythonPath });
    // Checked again at launch: the Settings may have changed while the run was queued.
    requireTorch(python);
    return { ...launch, env: { ...launch.env, WORKBENCH_PYTHON: python.path } };
  },
};
