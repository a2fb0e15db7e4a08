/**
 * Packaging entry points used by the package stage, the CLI and the API:
 *   - `packageModel`: .tflite + the model folder's tokenizer + LlmMetadata
 *     (given, or derived from the folder) → .litertlm;
 *   - `rewriteBundleMetadata`: an existing .litertlm with its LlmMetadata
 *     replaced (or added), every other section copied byte for byte — the
 *     "fix metadata without re-converting" path, seconds for any model size.
 * Inputs are validated with the format readers before anything is written.
 */
import { randomUUID } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LlmMetadataJson, TfliteSummary } from '../../common/formats.js';
import type { PackageResult } from '../../common/stages/package.js';
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile } from '../files/regularFile.js';
import { metadataProblems, tokenIdLimit } from '../../common/metadataChecks.js';
import { folderCanBeCreated } from '../files/folders.js';
import { readHfTokenizerJson } from '../formats/hfFolder.js';
import { readLitertlmHeader, SectionType } from '../formats/litertlm.js';
import { encodeLlmMetadata } from '../formats/llmMetadata.js';
import { parseSentencePiece } from '../formats/sentencepiece.js';
import { readTflite } from '../formats/tflite.js';
import type { HeaderEntry } from './header.js';
import { deriveLlmMetadata, runnableSampler, warningsAfterOverrides } from './metadata.js';
import { writeLitertlm } from './writer.js';
import type { SectionInput, WriteProgress, WrittenBundle } from './writer.js';
import { checkFileName } from '../files/fileName.js';

/** Section item upstream builders put on the main model (litertlm_builder.py TfLiteModelType). */
export const PREFILL_DECODE_MODEL_TYPE = 'tf_lite_prefill_decode';
export const GENERATOR = 'Convert Workbench';

export type { PackageResult };

export interface PackageRequest {
  tflitePath: string;
  modelDir: string;
  outPath: string;
  /** The complete LlmMetadata to write; absent = derived from modelDir. */
  metadata?: LlmMetadataJson;
  /** Fields that replace the derived ones (edited before packaging); not combined with `metadata`. */
  metadataOverrides?: LlmMetadataJson;
  /** Replace an existing file at outPath; without it an existing file is refused (never lost by a slip of --out). */
  overwrite?: boolean;
  onProgress?: (progress: WriteProgress) => void;
  signal?: AbortSignal;
}


export interface CheckedInputs {
  tflite: TfliteSummary;
  tokenizer: TokenizerSection;
}

/**
 * Everything knowable before writing: the .tflite is a TFLite model, the
 * folder has a valid tokenizer, the output folder exists or can be created
 * and the output is not one of the inputs. The package stage's preflight runs it too.
 */
export async function checkPackageInputs(request: Pick<PackageRequest, 'tflitePath' | 'modelDir' | 'outPath' | 'overwrite'>): Promise<CheckedInputs> {
  const tokenizer = await modelTokenizer(request.modelDir);
  await checkOutPath(request.outPath, [request.tflitePath, tokenizer.path], { overwrite: request.overwrite ?? false });
  const tflite = readTflite(request.tflitePath);
  return { tflite, tokenizer };
}

export async function packageModel(request: PackageRequest): Promise<PackageResult> {
  const { tflitePath, modelDir, outPath } = request;
  // A request that contradicts itself is refused before any file is looked at.
  if (request.metadata && request.metadataOverrides) {
    throw new WorkbenchError('bad_package_input', 'Give either the complete metadata or overrides of the derived metadata, not both.');
  }
  const { tflite, tokenizer } = await checkPackageInputs(request);
  let metadata: LlmMetadataJson;
  let metadataSources: Record<string, string> = {};
  const warnings: string[] = [];
  if (request.metadata) {
    metadata = request.metadata;
  } else {
    const derived = await deriveLlmMetadata(modelDir, tflite);
    const overrides = request.metadataOverrides ?? {};
    metadata = { ...derived.metadata, ...overrides };
    metadataSources = { ...derived.sources, ...Object.fromEntries(Object.keys(overrides).map((field) => [field, 'Edited before packaging.'])) };
    // A warning about a field the overrides set no longer applies (max_num_tokens given with --metadata).
    warnings.push(...warningsAfterOverrides(derived.warnings, Object.keys(overrides)));
  }
  const runnable = runnableSampler(metadata);
  metadata = runnable.metadata;
  if (runnable.note) warnings.push(runnable.note);
  const problems = metadataProblems(metadata, { vocabSize: tokenizer.vocabSize, kvCacheLength: tflite.derived.kvCacheMaxLen });
  if (problems.length > 0) {
    throw new WorkbenchError('bad_metadata', `The metadata cannot be packaged: ${problems.map((p) => p.message).join(' ')}`, { problems });
  }
  const metadataBytes = encodeLlmMetadata(metadata);
  if (!tflite.derived.hasDecodeSignature) {
    warnings.push(`${path.basename(tflitePath)} has no decode signature; the LiteRT-LM runtime expects prefill and decode signatures in the main model.`);
  }

  const sections: SectionInput[] = [
    { dataType: SectionType.LlmMetadataProto, payload: { kind: 'bytes', bytes: metadataBytes } },
    tokenizer.section,
    { dataType: SectionType.TFLiteModel, items: [{ key: 'model_type', value: PREFILL_DECODE_MODEL_TYPE }], payload: { kind: 'file', path: tflitePath } },
  ];
  const written = await writeLitertlm(outPath, {
    systemMetadata: systemMetadata(),
    sections,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  return {
    outPath,
    sizeBytes: written.sizeBytes,
    metadata,
    metadataSources,
    warnings,
    tokenizerKind: tokenizer.kind,
    tflite: { kvCacheMaxLen: tflite.derived.kvCacheMaxLen, prefillLengths: tflite.derived.prefillLengths, quantScheme: tflite.derived.quantScheme },
    sections: sectionList(written),
  };
}

export interface RewriteRequest {
  bundlePath: string;
  outPath: string;
  metadata: LlmMetadataJson;
  /**
   * Write the metadata exactly as given, even a sampler the CPU engine cannot
   * run (tests build such defective bundles); by default GREEDY becomes TOP_P k = 1.
   */
  verbatim?: boolean;
  onProgress?: (progress: WriteProgress) => void;
  signal?: AbortSignal;
}

export interface RewriteResult {
  outPath: string;
  sizeBytes: number;
  /** Whether the bundle had an LlmMetadata section to replace (false: one was added). */
  replaced: boolean;
  /** Non-string header values rewritten as strings, one sentence each. */
  notes: string[];
  sections: PackageResult['sections'];
}

/**
 * Copies a bundle with a new LlmMetadata. `outPath` may equal `bundlePath`:
 * the new file is complete and verified before it replaces the old one.
 */
export async function rewriteBundleMetadata(request: RewriteRequest): Promise<RewriteResult> {
  const { bundlePath, outPath } = request;
  const header = readLitertlmHeader(bundlePath);
  const runnable = request.verbatim ? { metadata: request.metadata, note: null } : runnableSampler(request.metadata);
  const metadataBytes = encodeLlmMetadata(runnable.metadata);
  const notes: string[] = runnable.note ? [runnable.note] : [];
  const asStrings = (entries: { key: string; type: string; value: number | string | boolean }[], where: string): HeaderEntry[] =>
    entries.map((e) => {
      if (e.type !== 'string') notes.push(`${where} value ${e.key} (${e.type}) is now stored as the string "${String(e.value)}".`);
      return { key: e.key, value: String(e.value) };
    });

  let replaced = false;
  const sections: SectionInput[] = [];
  for (const section of header.sections) {
    const items = asStrings(section.items, `Section ${section.index}`);
    if (section.dataType === SectionType.LlmMetadataProto && !replaced) {
      replaced = true;
      sections.push({ dataType: section.dataType, items, payload: { kind: 'bytes', bytes: metadataBytes } });
    } else {
      sections.push({ dataType: section.dataType, items, payload: { kind: 'file', path: bundlePath, start: section.beginOffset, end: section.endOffset } });
    }
  }
  if (!replaced) sections.unshift({ dataType: SectionType.LlmMetadataProto, payload: { kind: 'bytes', bytes: metadataBytes } });

  const system = asStrings(header.systemMetadata.filter((e) => e.key !== 'creation_timestamp'), 'System metadata');
  system.push({ key: 'creation_timestamp', value: new Date().toISOString() });
  const written = await writeLitertlm(outPath, {
    systemMetadata: system,
    sections,
    ...(request.onProgress ? { onProgress: request.onProgress } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  return { outPath, sizeBytes: written.sizeBytes, replaced, notes, sections: sectionList(written) };
}

export type TokenizerSection = {
  kind: 'hf-json' | 'sentencepiece';
  path: string;
  section: SectionInput;
  /** Tokens in the vocabulary (token ids in the metadata must be below it). */
  vocabSize: number;
};

/**
 * Gemma 3 folders carry both tokenizer.json and the SentencePiece
 * tokenizer.model; LiteRT-LM's own Gemma 3 bundles carry the SentencePiece
 * one (its runtime gives an SP section priority anyway), so a Gemma 3 folder
 * packages tokenizer.model. Other families package tokenizer.json first.
 */
async function prefersSentencePiece(modelDir: string): Promise<boolean> {
  try {
    const config = JSON.parse(Buffer.from(await readRegularFile(path.join(modelDir, 'config.json'))).toString('utf8')) as { architectures?: unknown; model_type?: unknown };
    const arch = Array.isArray(config.architectures) && typeof config.architectures[0] === 'string' ? config.architectures[0] : '';
    return arch.startsWith('Gemma3') || config.model_type === 'gemma3' || config.model_type === 'gemma3_text';
  } catch {
    return false;
  }
}

/** The model folder's tokenizer as a section: tokenizer.json (zlib) first (tokenizer.model first for Gemma 3), else a SentencePiece tokenizer.model. */
async function modelTokenizer(modelDir: string): Promise<TokenizerSection> {
  let entries: string[];
  try {
    entries = await readdir(modelDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new WorkbenchError('not_a_folder', `${modelDir} is a file; --model names the Hugging Face model folder (tokenizer, configs) the .tflite was converted from.`, { path: modelDir });
    }
    if (code === 'EACCES') throw new WorkbenchError('file_error', `Cannot read the model folder ${modelDir}: permission denied.`, { path: modelDir });
    throw new WorkbenchError('file_not_found', `The model folder ${modelDir} does not exist.`, { path: modelDir });
  }
  if (entries.includes('tokenizer.json') && !(entries.includes('tokenizer.model') && (await prefersSentencePiece(modelDir)))) {
    const parsed = await readHfTokenizerJson(modelDir); // validates: a broken tokenizer.json must not be packaged
    const file = path.join(modelDir, 'tokenizer.json');
    return { kind: 'hf-json', path: file, section: { dataType: SectionType.HF_Tokenizer_Zlib, payload: { kind: 'zlib-file', path: file } }, vocabSize: tokenIdLimit(parsed!.summary) };
  }
  if (entries.includes('tokenizer.model')) {
    const file = path.join(modelDir, 'tokenizer.model');
    const summary = parseSentencePiece(await readRegularFile(file), `tokenizer.model in ${modelDir}`);
    return { kind: 'sentencepiece', path: file, section: { dataType: SectionType.SP_Tokenizer, payload: { kind: 'file', path: file } }, vocabSize: tokenIdLimit(summary) };
  }
  throw new WorkbenchError('no_tokenizer', `${modelDir} has neither tokenizer.json nor tokenizer.model, so there is no tokenizer to package.`, { path: modelDir });
}

/** Refuses an output that is one of the inputs, is a folder, exists (unless overwriting), or whose folder cannot be created. */
export async function checkOutPath(outPath: string, inputs: string[], options: { overwrite: boolean }): Promise<void> {
  const resolved = path.resolve(outPath);
  checkFileName(resolved);
  if (inputs.some((input) => path.resolve(input) === resolved)) {
    throw new WorkbenchError('bad_package_input', `The output ${outPath} is also an input; choose another output file.`, { path: outPath });
  }
  const existing = await stat(resolved).catch(() => null);
  if (existing?.isDirectory()) {
    throw new WorkbenchError('bad_package_input', `The output ${outPath} is a folder; name the .litertlm file to write.`, { path: outPath });
  }
  if (existing && !options.overwrite) {
    throw new WorkbenchError('output_exists', `The output ${outPath} already exists; it is replaced only when you ask for it.`, {
      path: outPath,
      hint: 'Pass --overwrite to replace it, or choose another --out.',
    });
  }
  const dir = path.dirname(resolved);
  if (!folderCanBeCreated(dir)) {
    throw new WorkbenchError('bad_package_input', `The output folder ${dir} cannot be created: a file stands in its path.`, { path: dir });
  }
}

function systemMetadata(): HeaderEntry[] {
  return [
    { key: 'uuid', value: randomUUID() },
    { key: 'creation_timestamp', value: new Date().toISOString() },
    { key: 'generator', value: GENERATOR },
  ];
}

function sectionList(written: WrittenBundle): PackageResult['sections'] {
  return written.header.sections.map((s) => ({ dataType: s.dataType, dataTypeName: s.dataTypeName, beginOffset: s.beginOffset, endOffset: s.endOffset }));
}
