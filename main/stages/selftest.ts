/**
 * The self-test stage: exercises the runner, the log pipeline, the memory
 * sampler and the UI without a model. It says it is a self-test in every
 * message and produces no model artifact.
 */
import { SelftestParams } from '../common/stages/selftest.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

const PHASES = ['self-test: warm-up', 'self-test: log burst', 'self-test: memory', 'self-test: wrap-up'] as const;
const LEVELS = ['debug', 'info', 'info', 'info', 'warn'] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

await runStage(async () => {
  const params = readStageParams(SelftestParams);
  stageOut.log('info', 'Self-test stage started: no model is loaded or converted; this only exercises the workbench.');
  const steps = Math.max(20, Math.min(400, Math.round(params.durationSeconds * 10)));
  const stepMs = (params.durationSeconds * 1000) / steps;
  const linesPerStep = params.logLines / steps;
  const held: Buffer[] = [];
  const bytesPerStep = (params.allocateMiB * 1024 * 1024) / steps;
  let linesWritten = 0;
  let allocated = 0;

  for (let step = 1; step <= steps; step++) {
    const fraction = step / steps;
    const phase = PHASES[Math.min(PHASES.length - 1, Math.floor(fraction * PHASES.length - 1e-9))]!;
    const due = Math.round(linesPerStep * step);
    while (linesWritten < due) {
      linesWritten++;
      const level = LEVELS[linesWritten % LEVELS.length]!;
      stageOut.log(level, `self-test log line ${linesWritten} of ${params.logLines} (${phase}, step ${step}/${steps})`);
    }
    if (params.allocateMiB > 0) {
      // Touch every page so the memory is resident, not just reserved.
      const chunk = Buffer.alloc(Math.round(bytesPerStep), 1);
      held.push(chunk);
      allocated += chunk.length;
    }
    if (params.failAt !== null && fraction >= params.failAt) {
      stageOut.error('selftest_failure', `Self-test failed on purpose at ${Math.round(fraction * 100)} % (failAt = ${params.failAt}).`, 'This failure was requested in the self-test parameters (failAt), so retrying the same run fails the same way; start a self-test without failAt to see one succeed.');
      process.exitCode = 1;
      return;
    }
    stageOut.progress(fraction, phase, `Self-test step ${step} of ${steps}`);
    if (step % 10 === 0) stageOut.metric('selftest.allocated_mib', allocated / (1024 * 1024), 'MiB');
    await sleep(stepMs);
  }
  stageOut.metric('selftest.log_lines', linesWritten);
  stageOut.result({ selftest: true, logLines: linesWritten, allocatedMiB: Math.round(allocated / (1024 * 1024)), heldChunks: held.length });
  stageOut.log('info', 'Self-test stage finished.');
});
