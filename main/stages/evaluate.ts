/**
 * The evaluate stage: the behaviour check (main/core/evaluate/run.ts) as a
 * stage process. Stores the result (per-prompt answers side by side, the
 * teacher-forced figures, the summary) and a JSON report artifact.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EvaluateParams } from '../common/stages/evaluate.js';
import { runEvaluation } from '../core/evaluate/run.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

await runStage(async () => {
  const params = readStageParams(EvaluateParams);
  const workDir = process.env.WORKBENCH_STAGE_DIR ?? path.join(os.tmpdir(), `workbench-evaluate-${process.pid}`);
  const result = await runEvaluation(params, {
    python: process.env.WORKBENCH_PYTHON ?? null,
    workDir,
    reporter: {
      progress: (fraction, phase, message) => stageOut.progress(fraction, phase, message),
      log: (level, text) => stageOut.log(level, text),
      metric: (name, value, unit) => stageOut.metric(name, value, unit),
    },
  });
  const s = result.summary;
  stageOut.log(s.verdict === 'match' ? 'info' : 'warn', s.text);
  for (const cause of s.causes.slice(1)) stageOut.log('warn', cause.text);
  stageOut.metric('evaluate.bundle_matches', s.bundleMatches);
  stageOut.metric('evaluate.greedy_matches', s.greedyMatches);
  stageOut.metric('evaluate.never_stopped', s.bundleNeverStopped);
  if (s.numeric) stageOut.metric('evaluate.top1_agreement', s.numeric.top1Agreement);
  const c = result.corpus;
  if (c) {
    stageOut.log('info', `Corpus metrics over ${c.tokens} positions: mean KLD ${c.meanKld.toExponential(3)}, top-1 ${(c.top1Agreement * 100).toFixed(1)}%, perplexity ratio ${c.pplRatio.toFixed(4)}.`);
    stageOut.metric('evaluate.corpus.mean_kld', c.meanKld);
    stageOut.metric('evaluate.corpus.top1_agreement', c.top1Agreement);
    stageOut.metric('evaluate.corpus.ppl_ratio', c.pplRatio);
    stageOut.artifact('corpus-positions', path.join(workDir, 'corpus-positions.json'));
  }
  const report = path.join(workDir, 'evaluate-report.json');
  await writeFile(report, `${JSON.stringify(result, null, 2)}\n`);
  stageOut.artifact('evaluate-report', report);
  stageOut.result({ evaluation: result });
});
