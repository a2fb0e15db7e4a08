/**
 * The demo stage (issue 18 item 9): trains the demonstration model with the
 * reference Python (WORKBENCH_PYTHON, chosen by main/core/stages/demo.ts),
 * converts it natively and packages it with the field team's shipped
 * metadata and with the fixed metadata (main/core/demo/demoModel.ts, the
 * code `workbench demo` runs). Progress: training steps with the loss, the
 * conversion's bytes, then each bundle. The run's two evaluate stages check
 * the bundles afterwards. SIGTERM (cancel) stops training or conversion.
 */
import { mkdir } from 'node:fs/promises';
import { WorkbenchError } from '../common/errors.js';
import { DemoParams, type DemoResult } from '../common/stages/demo.js';
import { buildDemoBundles, type DemoPhase } from '../core/demo/demoModel.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

/** Share of the stage's progress bar each phase ends at (training dominates: about a minute against seconds). */
const TRAIN_END = 0.8;
const CONVERT_END = 0.93;
const SHIPPED_END = 0.97;

function report(phase: DemoPhase): void {
  switch (phase.phase) {
    case 'train': {
      const { step, steps, loss } = phase.progress;
      stageOut.progress((step / steps) * TRAIN_END, 'train', `step ${step}/${steps}, loss ${loss.toFixed(4)}`);
      if (step === 1 || step % 100 === 0 || step === steps) stageOut.log('info', `Training step ${step}/${steps}: loss ${loss.toFixed(4)}`);
      return;
    }
    case 'convert':
      stageOut.progress(TRAIN_END + phase.fraction * (CONVERT_END - TRAIN_END), 'convert', `${Math.round(phase.fraction * 100)} % of the weights written`);
      return;
    case 'package-shipped':
      stageOut.progress(CONVERT_END, 'package shipped', "the field team's shipped metadata");
      stageOut.log('info', "Packaging demo-shipped.litertlm with the field team's shipped metadata (doubled <|im_start|>, TOP_P at temperature 1.5, no <|im_end|> stop).");
      return;
    case 'package-fixed':
      stageOut.progress(SHIPPED_END, 'package fixed', 'the metadata rewritten from the model folder');
      stageOut.log('info', 'Writing demo-fixed.litertlm with the fixed metadata (the same code as `workbench package --fix-metadata`).');
      return;
  }
}

await runStage(async () => {
  const params = readStageParams(DemoParams);
  const python = process.env.WORKBENCH_PYTHON;
  if (!python) throw new WorkbenchError('python_not_found', 'The demo stage was started without a Python to train with; run `workbench doctor`.');
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    stageOut.log('warn', 'Cancel requested: stopping.');
    controller.abort();
  });
  await mkdir(params.outDir, { recursive: true });
  stageOut.progress(0, 'train', `with ${python}`);
  const demo = await buildDemoBundles(params.outDir, python, (text) => stageOut.log('info', text), { onPhase: report, signal: controller.signal });
  stageOut.metric('demo.training.loss', demo.training.loss);
  stageOut.metric('demo.training.seconds', demo.training.seconds, 's');
  stageOut.artifact('tflite', demo.tflite);
  stageOut.artifact('bundle', demo.shipped);
  stageOut.artifact('bundle', demo.fixed);
  stageOut.progress(1, 'done', `Trained in ${demo.training.seconds.toFixed(1)} s (loss ${demo.training.loss.toFixed(4)}); wrote demo-shipped.litertlm and demo-fixed.litertlm; the behaviour check of each follows`);
  const result: DemoResult = { outDir: params.outDir, modelDir: demo.modelDir, tflite: demo.tflite, shipped: demo.shipped, fixed: demo.fixed, python, training: demo.training };
  stageOut.result({ demo: result });
});
