/**
 * The merge stage: runs the native streaming LoRA merge in its own process and
 * reports through the stage protocol (docs/stage-protocol.md): progress with
 * tensors, bytes, throughput and ETA in the message, live metrics once a
 * second, the merged folder as an artifact and the summary as the result.
 * SIGTERM (cancel) stops between tensors and removes the partial output.
 */
import { formatBytes, formatDuration } from '../common/format.js';
import { MergeParams } from '../common/stages/merge.js';
import { mergeLora, summariseMerge, type MergeProgress } from '../core/merge/index.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

/** Where each phase sits in the stage's 0..1 progress. */
const PHASE_SPAN: Record<MergeProgress['phase'], [number, number]> = {
  plan: [0, 0],
  merge: [0, 0.9],
  copy: [0.9, 0.92],
  verify: [0.92, 0.99],
  done: [1, 1],
};

function progressMessage(p: MergeProgress): string {
  const eta = p.etaSeconds === null ? '' : ` · ETA ${formatDuration(p.etaSeconds * 1000)}`;
  return `${p.tensorsDone}/${p.tensorsTotal} tensors · ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} · ${formatBytes(p.bytesPerSecond)}/s${eta}`;
}

await runStage(async () => {
  const params = readStageParams(MergeParams);
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    stageOut.log('warn', 'Cancel requested: stopping after the current tensor and removing the partial output.');
    controller.abort();
  });
  let lastProgress = 0;
  let lastMetrics = 0;
  let lastPhase = '';
  const result = await mergeLora({
    ...params,
    signal: controller.signal,
    onLog: (level, text) => stageOut.log(level, text),
    onProgress: (p) => {
      const now = Date.now();
      // Every phase change is reported at once; within the merge phase at most four times a second.
      if (p.phase !== lastPhase || p.phase !== 'merge' || now - lastProgress >= 250) {
        lastProgress = now;
        lastPhase = p.phase;
        const [from, to] = PHASE_SPAN[p.phase];
        const fraction = p.phase === 'merge' && p.bytesTotal > 0 ? from + (to - from) * (p.bytesDone / p.bytesTotal) : from;
        stageOut.progress(fraction, p.phase, p.phase === 'merge' ? progressMessage(p) : undefined);
      }
      if (p.phase === 'merge' && now - lastMetrics >= 1000) {
        lastMetrics = now;
        stageOut.metric('merge.tensors_done', p.tensorsDone);
        stageOut.metric('merge.bytes_done', p.bytesDone, 'bytes');
        stageOut.metric('merge.bytes_per_second', Math.round(p.bytesPerSecond), 'bytes/s');
        if (p.etaSeconds !== null) stageOut.metric('merge.eta_seconds', Math.round(p.etaSeconds * 10) / 10, 's');
        stageOut.metric('merge.rss_bytes', p.rssBytes, 'bytes');
      }
    },
  });
  stageOut.metric('merge.seconds', Math.round(result.mergeSeconds * 1000) / 1000, 's');
  stageOut.metric('merge.bytes_per_second', Math.round(result.bytesPerSecond), 'bytes/s');
  stageOut.metric('merge.peak_rss_bytes', result.peakRssBytes, 'bytes');
  stageOut.metric('merge.output_bytes', result.outputBytes, 'bytes');
  stageOut.metric('merge.tensors_touched', result.tensorsTouched);
  if (result.verify) stageOut.metric('merge.verify_max_ulp', result.verify.maxUlpError, 'ulp');
  stageOut.artifact('merged-model', result.outDir);
  // The stage's note once finished: the outcome, not the last "n/m tensors … ETA" of the merge phase.
  stageOut.progress(1, 'done', `${result.tensorsTouched} of ${result.tensorsTotal} tensors changed · ${formatBytes(result.outputBytes)} written in ${formatDuration(result.durationMs)}${result.verify ? (result.verify.ok ? ' · verified' : ' · verify failed') : ''}`);
  stageOut.log('info', `Merged ${result.tensorsTouched} tensors into ${result.outDir} (${formatBytes(result.outputBytes)}) in ${formatDuration(result.durationMs)}, peak RSS ${formatBytes(result.peakRssBytes)}.`);
  stageOut.result(summariseMerge(result));
});
