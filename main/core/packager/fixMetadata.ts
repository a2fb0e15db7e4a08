/**
 * The one-click metadata fix (`workbench package --fix-metadata`, the
 * Verify step's button, `fidelity.fix`): compute the LlmMetadata the model
 * folder calls for and re-package the existing bundle with it — every other
 * section copied byte for byte by the packager, so it takes seconds and no
 * re-conversion — then check the new bundle again. A bare .tflite is
 * packaged into a new .litertlm with the model's tokenizer instead. It lives
 * with the packager (which it drives) and reads the fidelity checks, the one
 * direction those folders depend on each other.
 */
import path from 'node:path';
import type { FidelityReport } from '../../common/fidelity.js';
import type { LlmMetadataJson } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { analyze, loadAnalysisInput, metadataFixBlocker } from '../fidelity/analyze.js';
import { loadBundleSide } from '../fidelity/load.js';
import { packageModel, rewriteBundleMetadata } from './package.js';
import type { WriteProgress } from './writer.js';

export interface FixRequest {
  modelDir: string;
  bundlePath: string;
  /** Where to write the fixed bundle (.litertlm); may equal bundlePath to fix in place. */
  outPath: string;
  /** For a bare .tflite: its current metadata (.json or .pb), used only for the "before" report. */
  metadataPath?: string;
  intendedContext?: number | null;
  onProgress?: (progress: WriteProgress) => void;
  signal?: AbortSignal;
}

export interface FixResult {
  outPath: string;
  sizeBytes: number;
  metadata: LlmMetadataJson;
  before: FidelityReport;
  after: FidelityReport;
  /** Failing or warning items the metadata cannot fix (re-conversion, tokenizer, runtime limits), by id. */
  remaining: string[];
  notes: string[];
  elapsedMs: number;
}

export async function fixBundleMetadata(request: FixRequest): Promise<FixResult> {
  const started = performance.now();
  if (!request.outPath.toLowerCase().endsWith('.litertlm')) {
    throw new WorkbenchError('bad_fix_output', `The fixed bundle must be a .litertlm file, not ${path.basename(request.outPath)}.`, { path: request.outPath });
  }
  const input = await loadAnalysisInput(request);
  const before = analyze(input);
  refuseForeignTokenizer(input, before);
  const metadata = before.correctedMetadata;
  if (!metadata) throw new WorkbenchError('no_corrected_metadata', 'No corrected metadata could be derived from the model folder.');

  const progress = { ...(request.onProgress ? { onProgress: request.onProgress } : {}), ...(request.signal ? { signal: request.signal } : {}) };
  let sizeBytes: number;
  let notes: string[];
  if (input.bundle.kind === 'tflite') {
    const packaged = await packageModel({ tflitePath: request.bundlePath, modelDir: request.modelDir, outPath: request.outPath, metadata, overwrite: true, ...progress });
    sizeBytes = packaged.sizeBytes;
    notes = [`Packaged ${path.basename(request.bundlePath)} with the model's tokenizer into a new .litertlm.`, ...packaged.warnings];
  } else {
    const rewritten = await rewriteBundleMetadata({ bundlePath: request.bundlePath, outPath: request.outPath, metadata, ...progress });
    sizeBytes = rewritten.sizeBytes;
    notes = [rewritten.replaced ? 'Replaced the LlmMetadata section; every other section was copied byte for byte.' : 'Added an LlmMetadata section; every other section was copied byte for byte.', ...rewritten.notes];
  }

  const bundle = await loadBundleSide(request.outPath, input.model);
  const after = analyze({ ...input, bundle });
  return {
    outPath: request.outPath,
    sizeBytes,
    metadata,
    before,
    after,
    remaining: after.items.filter((i) => i.status !== 'pass').map((i) => i.id),
    notes,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/**
 * Metadata names tokens by id in the bundle's own vocabulary. When the bundle
 * carries another tokenizer than the model's, the model's stop and start ids
 * would point at unrelated tokens of that vocabulary: re-packaging the
 * metadata cannot help, packaging the .tflite with the right tokenizer does.
 */
function refuseForeignTokenizer(input: Awaited<ReturnType<typeof loadAnalysisInput>>, before: FidelityReport): void {
  const item = metadataFixBlocker(input, before.items);
  if (!item) return;
  throw new WorkbenchError(
    'tokenizer_mismatch',
    `${item.explanation} The model's token ids would mean other tokens in the bundle's vocabulary, so its metadata cannot be fixed in place.`,
    { hint: `Package the converted .tflite again with this model's tokenizer (workbench package --tflite MODEL.tflite --model ${input.model.folder.path} --out FILE.litertlm, or the wizard's Packaging step), then check it.` },
  );
}
