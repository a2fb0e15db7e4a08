/**
 * The package stage: writes a .litertlm from a .tflite, the model folder's
 * tokenizer and the LlmMetadata (given, or derived from the folder), and
 * reports through the stage protocol (docs/stage-protocol.md): progress by
 * bytes written, where each metadata field came from, the bundle as a
 * `litertlm` artifact and the packaging summary as the result. SIGTERM
 * (cancel) stops between chunks; the partial file is removed.
 */
import path from 'node:path';
import { formatBytes } from '../common/format.js';
import { PackageParams, PackageResult } from '../common/stages/package.js';
import { packageModel } from '../core/packager/package.js';
import { readStageParams, runStage, stageOut } from './lib/protocol.js';

await runStage(async () => {
  const params = readStageParams(PackageParams);
  const controller = new AbortController();
  process.once('SIGTERM', () => {
    stageOut.log('warn', 'Cancel requested: stopping and removing the partial bundle.');
    controller.abort();
  });
  const started = Date.now();
  stageOut.progress(0, 'check', `Reading ${path.basename(params.tflitePath)} and the model folder`);
  let lastProgress = 0;
  const result = await packageModel({
    tflitePath: path.resolve(params.tflitePath),
    modelDir: path.resolve(params.modelDir),
    outPath: path.resolve(params.outPath),
    overwrite: params.overwrite,
    ...(params.metadata ? { metadata: params.metadata } : {}),
    ...(params.metadataOverrides ? { metadataOverrides: params.metadataOverrides } : {}),
    signal: controller.signal,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastProgress < 250 && p.doneBytes < p.totalBytes) return;
      lastProgress = now;
      const fraction = p.totalBytes > 0 ? 0.05 + 0.93 * (p.doneBytes / p.totalBytes) : 0.05;
      stageOut.progress(fraction, 'write', `${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)} of input read (section ${p.section + 1})`);
    },
  });
  for (const [field, source] of Object.entries(result.metadataSources)) stageOut.log('info', `${field}: ${source}`);
  for (const warning of result.warnings) stageOut.log('warn', warning);
  const seconds = (Date.now() - started) / 1000;
  stageOut.metric('package.output_bytes', result.sizeBytes, 'bytes');
  stageOut.metric('package.seconds', Math.round(seconds * 1000) / 1000, 's');
  stageOut.progress(1, 'done', `${formatBytes(result.sizeBytes)} written, ${result.sections.length} sections`);
  stageOut.artifact('litertlm', result.outPath);
  stageOut.log('info', `Wrote ${result.outPath} (${formatBytes(result.sizeBytes)}, ${result.sections.length} sections) in ${seconds.toFixed(1)} s.`);
  stageOut.result(PackageResult.parse(result));
});
