/**
 * `workbench demo [--out DIR] [--json]`: the workbench finding a real defect
 * on a model anyone has. Trains the demonstration model (main/core/demo) with
 * the reference Python's torch, packages it with the metadata a field team
 * shipped and with the fixed metadata, runs the behaviour check on both (two
 * evaluate runs in the history) and says where to look. `--json` prints
 * exactly one JSON document, an error document on failure too.
 * Exit code: 0 when the check shows what it should (the shipped bundle's
 * answers differ, the fixed one's all match), 1 otherwise, 3 when the Python
 * cannot train it (no torch).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { WorkbenchError } from '../../common/errors.js';
import { DEMO_MAX_TOKENS } from '../../common/stages/demo.js';
import { EvaluateResult } from '../../common/stages/evaluate.js';
import { buildDemoBundles, requireTorch, type DemoBundles } from '../../core/demo/demoModel.js';
import { referencePython } from '../../core/env/python.js';
import { runInTerminal } from '../runInTerminal.js';
import { EXIT, type CliCommand, type CliContext } from '../context.js';


interface DemoCheck {
  bundle: string;
  runId: number;
  status: string;
  matches: number | null;
  prompts: number | null;
  summary: string | null;
  causes: string[];
  show: string;
}

async function checkBundle(ctx: CliContext, demo: DemoBundles, bundle: string, label: string, quiet: boolean): Promise<DemoCheck> {
  const run = await runInTerminal(ctx.engine(), ctx, { name: `demo: behaviour check, ${label}`, stages: [{ kind: 'evaluate', params: { modelDir: demo.modelDir, bundlePath: bundle, maxTokens: DEMO_MAX_TOKENS } }] }, { quiet });
  const stage = run.stages[0];
  const parsed = EvaluateResult.safeParse((stage?.result as { evaluation?: unknown } | null)?.evaluation);
  const summary = parsed.success ? parsed.data.summary : null;
  return {
    bundle,
    runId: run.id,
    status: run.status,
    matches: summary?.bundleMatches ?? null,
    prompts: summary?.prompts ?? null,
    summary: summary?.text ?? stage?.error?.message ?? null,
    causes: (summary?.causes ?? []).map((c) => (typeof c === 'string' ? c : c.text)),
    show: `workbench runs show ${run.id}`,
  };
}

function describe(check: DemoCheck): string {
  return check.matches === null ? `run ${check.runId} ${check.status}` : `run ${check.runId}: ${check.matches} of ${check.prompts} answers match the reference`;
}

export const demoCommand: CliCommand = {
  name: 'demo',
  summary: 'Train a tiny demonstration model, package it with shipped and fixed metadata, and run the behaviour check on both',
  usage: `workbench demo [--out DIR] [--json]
  --out DIR   where the model folder and the two bundles go (default ./workbench-demo)
Needs a Python with torch (the one \`workbench doctor\` names for the behaviour check).
exit code: 0 the shipped bundle's answers differ and the fixed bundle's all match, 1 otherwise, 3 no torch or bad --out`,
  async run(argv, ctx) {
    const { values } = parseArgs({ args: argv, options: { out: { type: 'string' }, json: { type: 'boolean', default: false } } });
    const json = values.json;
    try {
      return await runDemo(ctx, path.resolve(values.out ?? 'workbench-demo'), json);
    } catch (error) {
      if (!json || !(error instanceof WorkbenchError)) throw error;
      const hint = (error.details as { hint?: string } | undefined)?.hint;
      ctx.out(JSON.stringify({ status: 'failed', error: { code: error.code, message: error.message, ...(hint ? { hint } : {}) } }, null, 2));
      return error.code === 'demo_training_failed' ? EXIT.failed : EXIT.badInput;
    }
  },
};

async function runDemo(ctx: CliContext, outDir: string, json: boolean): Promise<number> {
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new WorkbenchError('not_a_folder', `--out ${outDir} is a file; name a folder for the demonstration model and its bundles.`, { path: outDir });
  }
  const engine = ctx.engine();
  const python = await referencePython({ dataDir: engine.dataDir, settingsPath: engine.settings.get().pythonPath });
  requireTorch(python);
  await mkdir(outDir, { recursive: true });
  const say = (text: string) => {
    if (!json) ctx.err(text);
  };
  const demo = await buildDemoBundles(outDir, python.path, say);
  say('Running the behaviour check on the shipped bundle …');
  const shipped = await checkBundle(ctx, demo, demo.shipped, 'shipped metadata', json);
  say('Running the behaviour check on the fixed bundle …');
  const fixed = await checkBundle(ctx, demo, demo.fixed, 'fixed metadata', json);
  const asExpected = shipped.matches !== null && shipped.matches < (shipped.prompts ?? 0) && fixed.matches !== null && fixed.matches === fixed.prompts;
  const compare = `workbench serve, then open #/compare?ids=${shipped.runId},${fixed.runId} (or each run on the Runs page)`;
  if (json) {
    ctx.out(
      JSON.stringify(
        {
          status: asExpected ? 'as_expected' : 'unexpected',
          outDir,
          python: python.path,
          torch: python.torch,
          training: demo.training,
          modelDir: demo.modelDir,
          tflite: demo.tflite,
          shipped,
          fixed,
          fixCommand: `workbench package --fix-metadata ${demo.shipped} --model ${demo.modelDir} --out ${demo.fixed}`,
          serveHint: compare,
        },
        null,
        2,
      ),
    );
  } else {
    const lines = [
      `Demonstration model: ${demo.modelDir} (trained with ${python.path}, torch ${python.torch}, loss ${demo.training.loss.toFixed(4)})`,
      '',
      `Shipped metadata  ${demo.shipped}`,
      `  behaviour check ${describe(shipped)}`,
      `  ${shipped.summary ?? ''}`,
      ...shipped.causes.filter((c) => !shipped.summary?.includes(c)).map((c) => `    - ${c}`),
      `Fixed metadata    ${demo.fixed}  (workbench package --fix-metadata)`,
      `  behaviour check ${describe(fixed)}`,
      `  ${fixed.summary ?? ''}`,
      '',
      'Where to look:',
      `  ${shipped.show}`,
      `  ${fixed.show}`,
      `  workbench chat --bundle ${demo.fixed} --prompt 'What is the capital of France?'`,
      `  ${compare}`,
    ];
    ctx.out(lines.join('\n'));
  }
  return asExpected ? EXIT.ok : EXIT.failed;
}
