/**
 * A plan's convert stage without a `route` takes the route `workbench
 * convert` takes: native where the native converter builds the model (its own
 * decision, readDecoderConfig, asked of the model's config.json — or of the
 * base model when a merge earlier in the plan writes the folder) and the
 * stage's other options exist on that route; otherwise the schema's default
 * (example). Filled in before the plan is validated, so the recorded plan
 * names the route it ran.
 */
import path from 'node:path';
import { ConvertParams } from '../../common/stages/convert.js';
import { readDecoderConfig } from '../nativeConvert/convertModel.js';

type StageInput = { kind?: unknown; params?: unknown };

/** The folder whose config.json describes the model the stage at `index` converts. */
function configDir(stages: StageInput[], index: number, modelDir: string): string {
  for (const stage of stages.slice(0, index)) {
    const params = stage.params as Record<string, unknown> | undefined;
    if (stage.kind === 'merge' && typeof params?.outDir === 'string' && typeof params.baseDir === 'string' && path.resolve(params.outDir) === path.resolve(modelDir)) {
      return params.baseDir;
    }
  }
  return modelDir;
}

/** Whether the native converter builds the model in dir (its own decision, readDecoderConfig). */
export async function nativeBuilds(dir: string): Promise<boolean> {
  try {
    await readDecoderConfig(dir);
    return true;
  } catch {
    return false;
  }
}

/** A copy of the plan input with each route-less convert stage's route chosen; anything malformed is left for validation to refuse. */
export async function withDefaultRoutes<P>(planInput: P): Promise<P> {
  const stages = (planInput as { stages?: unknown } | null)?.stages;
  if (!Array.isArray(stages)) return planInput;
  let changed = false;
  const filled = await Promise.all(
    (stages as StageInput[]).map(async (stage, index) => {
      const params = stage?.params as Record<string, unknown> | undefined;
      if (stage?.kind !== 'convert' || !params || typeof params !== 'object' || params.route !== undefined) return stage;
      if (typeof params.modelDir !== 'string' || !path.isAbsolute(params.modelDir)) return stage;
      // Mask-as-input is the example scripts' flag: a plan that sets it means that route.
      if (params.maskAsInput === true || !ConvertParams.safeParse({ ...params, route: 'native' }).success) return stage;
      if (!(await nativeBuilds(configDir(stages as StageInput[], index, params.modelDir)))) return stage;
      changed = true;
      return { ...stage, params: { ...params, route: 'native' } };
    }),
  );
  return changed ? ({ ...(planInput as object), stages: filled } as P) : planInput;
}
