/**
 * The demonstration as a run (issue 18, item 9: "the New run page offers
 * it"): a `demo` stage trains the tiny demonstration model with the
 * reference Python's torch, converts it natively and packages it twice (the
 * field team's shipped metadata and the fixed one, main/core/demo); the run
 * then goes on with two ordinary `evaluate` stages, so the run page shows
 * the behaviour check of each bundle with its causes. `workbench demo` (the
 * CLI) builds the same bundles and checks them with the same token cap.
 */
import { z } from 'zod';

/** Cap on generated tokens in the demo's behaviour checks (the trained answers are 4 to 10 tokens). */
export const DEMO_MAX_TOKENS = 24;

/** The files buildDemoBundles writes into the demo's folder. */
export const DEMO_FILES = { modelDir: 'demo-model', tflite: 'demo.tflite', shipped: 'demo-shipped.litertlm', fixed: 'demo-fixed.litertlm' } as const;

export const DemoParams = z.object({
  /** Where the model folder, the .tflite and the two bundles go (a folder that holds no finished demo). */
  outDir: z.string().min(1),
});
export type DemoParams = z.infer<typeof DemoParams>;

export const DemoResult = z.object({
  outDir: z.string(),
  modelDir: z.string(),
  tflite: z.string(),
  shipped: z.string(),
  fixed: z.string(),
  python: z.string(),
  training: z.object({ seconds: z.number(), loss: z.number() }),
});
export type DemoResult = z.infer<typeof DemoResult>;

/** Joins a folder and a file name with the folder's own separator (common code has no node:path). */
function join(dir: string, name: string): string {
  const sep = dir.includes('\\') && !dir.includes('/') ? '\\' : '/';
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}

/** The paths of the demo's products in outDir. */
export function demoPaths(outDir: string): { modelDir: string; tflite: string; shipped: string; fixed: string } {
  return { modelDir: join(outDir, DEMO_FILES.modelDir), tflite: join(outDir, DEMO_FILES.tflite), shipped: join(outDir, DEMO_FILES.shipped), fixed: join(outDir, DEMO_FILES.fixed) };
}

/** The demo run (a RunPlanInput; plan.ts imports this file, so the type is not named here): build the bundles, then the behaviour check on the shipped bundle and on the fixed one. */
export function demoPlan(outDir: string) {
  const paths = demoPaths(outDir);
  return {
    name: 'Demo: shipped metadata vs fixed',
    stages: [
      { kind: 'demo' as const, params: { outDir } },
      { kind: 'evaluate' as const, params: { modelDir: paths.modelDir, bundlePath: paths.shipped, maxTokens: DEMO_MAX_TOKENS } },
      { kind: 'evaluate' as const, params: { modelDir: paths.modelDir, bundlePath: paths.fixed, maxTokens: DEMO_MAX_TOKENS } },
    ],
  };
}
