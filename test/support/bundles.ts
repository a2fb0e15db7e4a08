/**
 * Test bundles for the fidelity analyzer, written by the workbench's own
 * packager (main/core/packager): a synthetic LLM .tflite, the tokenizer of a
 * model folder and a given LlmMetadata, one defect at a time.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { LlmMetadataJson } from '../../main/common/formats.js';
import { packageModel, rewriteBundleMetadata } from '../../main/core/packager/package.js';
import { writeSyntheticTflite } from './syntheticTflite.js';
import type { SyntheticTfliteOptions } from './syntheticTflite.js';

export interface BundleOptions {
  metadata: LlmMetadataJson;
  /** Folder whose tokenizer is packaged (default: the model folder); another model's folder makes a mismatched bundle. */
  tokenizerFrom?: string;
  tflite?: SyntheticTfliteOptions;
}

/** Packages `<file>` from a fresh synthetic LLM .tflite, a model folder's tokenizer and `metadata`. */
export async function writeTestBundle(file: string, modelDir: string, options: BundleOptions): Promise<string> {
  const work = `${file}.parts`;
  mkdirSync(work, { recursive: true });
  const tflitePath = path.join(work, 'model.tflite');
  await writeSyntheticTflite(tflitePath, options.tflite ?? { kvCacheMaxLen: 4096 });
  // The packager refuses metadata a bundle must not carry (ids past the vocabulary, …), and defective
  // bundles are what these tests need: package minimal metadata (a bundle must have stop tokens), then put
  // the defective one in place.
  await packageModel({ tflitePath, modelDir: options.tokenizerFrom ?? modelDir, outPath: file, metadata: { stopTokens: [{ tokenIds: { ids: [0] } }] } });
  await rewriteBundleMetadata({ bundlePath: file, outPath: file, metadata: options.metadata, verbatim: true });
  return file;
}

/** A copy of `base` with other metadata (every other section copied byte for byte), as the fix writes it. */
export async function withMetadata(base: string, file: string, metadata: LlmMetadataJson): Promise<string> {
  await rewriteBundleMetadata({ bundlePath: base, outPath: file, metadata, verbatim: true });
  return file;
}
