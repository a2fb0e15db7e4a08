/**
 * Handler of the demonstration's API: picks a fresh folder under the data
 * directory and starts the demo run. The runner's preflights refuse, with
 * `workbench demo`'s sentence, a Python without torch before any run exists.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import type { demoMethods } from '../../common/api/demo.js';
import { demoPlan } from '../../common/stages/demo.js';
import type { HandlerFactory } from './handlerTypes.js';

/** `<dataDir>/demo/<UTC date and time>`, with -2, -3, … when a folder of that name exists: an earlier demo is never reused. */
export function freshDemoFolder(dataDir: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, '').replace(/[:T]/g, '-');
  const base = path.join(dataDir, 'demo', stamp);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

export const demoHandlers: HandlerFactory<keyof typeof demoMethods> = (engine) => ({
  'demo.start': async ({ outDir }) => {
    if (outDir !== undefined && !path.isAbsolute(outDir)) {
      throw new WorkbenchError('invalid_input', `"${outDir}" is a relative path; give the demo an absolute folder.`, { path: outDir });
    }
    const dir = outDir ?? freshDemoFolder(engine.dataDir);
    return { id: await engine.runner.start(demoPlan(dir)), outDir: dir };
  },
});
