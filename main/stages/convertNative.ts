/**
 * The convert stage's native route: runs the workbench's own streaming
 * converter (main/core/nativeConvert) in its own process and reports through
 * the stage protocol: progress with tensors, bytes, throughput and ETA, live
 * metrics once a second, the .tflite and its sidecar as artifacts, and the
 * summary (path, bytes, sha256, signatures, seconds) as the result. SIGTERM
 * (cancel) stops between chunks and removes the partial file.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes, formatDuration } from '../common/format.js';
import { ConvertParams } from '../common/stages/convert.js';
import { makeDirectories } from '../core/files/folders.js';
import { convertNative, NATIVE_CONVERTER_VERSION, readDecoderConfig } from '../core/nativeConvert/convertModel.js';
import type { NativeQuantization } from '../core/nativeConvert/decoderGraph.js';
import { nativeOutputPath } from '../core/nativeConvert/outputPath.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

await runStage(async () => {
  const params = readStageParams(ConvertParams);
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    stageOut.log('warn', 'Cancel requested: stopping after the current chunk and removing the partial output.');
    controller.abort();
  });
  const modelDir = path.resolve(params.modelDir);
  stageOut.progress(0, 'read config');
  const config = await readDecoderConfig(modelDir);
  const outPath = nativeOutputPath(params, config.family.name);
  makeDirectories(path.dirname(outPath));
  const kvLayout = params.transposeKvCache ? 'transposed' : 'btnh';
  const prefill = [...new Set(params.prefillSeqLens)].sort((a, b) => a - b);
  stageOut.log(
    'info',
    `Native conversion of ${config.architecture} (${config.layers} layers, hidden ${config.hiddenSize}, ${config.heads}/${config.kvHeads} heads of ${config.headDim}) → ${outPath}: ${params.quantize}, context ${params.kvCacheMaxLen}, prefill ${prefill.join(', ')}, KV layout ${kvLayout}.`,
  );

  const started = Date.now();
  let lastProgress = 0;
  let lastMetrics = 0;
  const result = await convertNative({
    modelDir,
    outPath,
    quantize: params.quantize as NativeQuantization,
    kvCacheMaxLen: params.kvCacheMaxLen,
    prefillSeqLens: prefill,
    kvLayout,
    signal: controller.signal,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastProgress < 250 && p.bytesDone < p.bytesTotal) return;
      lastProgress = now;
      const elapsed = (now - started) / 1000;
      const rate = elapsed > 0 ? p.bytesDone / elapsed : 0;
      const eta = rate > 0 ? (p.bytesTotal - p.bytesDone) / rate : null;
      stageOut.progress(
        (0.95 * p.bytesDone) / p.bytesTotal,
        'convert',
        `${p.buffersDone}/${p.buffersTotal} tensors · ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} · ${formatBytes(rate)}/s${eta === null ? '' : ` · ETA ${formatDuration(eta * 1000)}`}`,
      );
      if (now - lastMetrics >= 1000) {
        lastMetrics = now;
        stageOut.metric('convert.bytes_done', p.bytesDone, 'bytes');
        stageOut.metric('convert.bytes_per_second', Math.round(rate), 'bytes/s');
        if (eta !== null) stageOut.metric('convert.eta_seconds', Math.round(eta * 10) / 10, 's');
        stageOut.metric('convert.rss_bytes', process.memoryUsage.rss(), 'bytes');
      }
    },
  });
  stageOut.progress(0.97, 'sidecar');
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const summary = {
    route: 'native' as const,
    converterVersion: NATIVE_CONVERTER_VERSION,
    tflite: result.tflite,
    bytes: result.bytes,
    sha256: result.sha256,
    signatures: result.signatures,
    seconds: Math.round(result.seconds * 1000) / 1000,
    architecture: result.architecture,
    family: result.family,
    quantize: params.quantize,
    kvCacheMaxLen: params.kvCacheMaxLen,
    prefillSeqLens: prefill,
    kvLayout,
    tensors: result.tensors,
    peakRssBytes,
    modelDir,
  };
  const sidecar = `${result.tflite}.convert.json`;
  await writeFile(sidecar, `${JSON.stringify({ ...summary, config: result.config, createdAt: new Date().toISOString() }, null, 2)}\n`);
  stageOut.metric('convert.seconds', summary.seconds, 's');
  stageOut.metric('convert.output_bytes', result.bytes, 'bytes');
  stageOut.metric('convert.peak_rss_bytes', peakRssBytes, 'bytes');
  stageOut.artifact('tflite', result.tflite);
  stageOut.artifact('sidecar', sidecar);
  stageOut.log('info', `Wrote ${result.tflite} (${formatBytes(result.bytes)}, ${result.signatures.join(', ')}) in ${formatDuration(result.seconds * 1000)}, peak RSS ${formatBytes(peakRssBytes)}; sha256 ${result.sha256}.`);
  stageOut.result(summary);
});
