/**
 * Reads the two sides of a fidelity check from disk through the format
 * readers (main/core/formats/): the HF model folder and the bundle (a
 * .litertlm, or a bare .tflite with its metadata in a separate file), and
 * prepares tokenizers and template renderers once for all checks.
 */
import { createHash } from 'node:crypto';
import { closeSync } from 'node:fs';
import path from 'node:path';
import { LlmMetadataJson } from '../../common/formats.js';
import type { HfTokenizerSummary, TfliteSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { openRegularFileSync, readRegularFile } from '../files/regularFile.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { SectionType, inflateHfTokenizer, readLitertlmHeader, readLlmMetadata, readSectionBytes } from '../formats/litertlm.js';
import type { SectionHeader } from '../formats/litertlm.js';
import { decodeLlmMetadata } from '../formats/llmMetadata.js';
import { parseSentencePiece } from '../formats/sentencepiece.js';
import { readTflite, readTfliteAt } from '../formats/tflite.js';
import { RecentCache } from '../recentCache.js';
import { HfTokenizer } from '../tokenizer/hfTokenizer.js';
import type { BundleSide, BundleTokenizer, ModelSide } from './input.js';
import { hfTemplateRenderer } from './templates.js';

export async function loadModelSide(dir: string): Promise<ModelSide> {
  const folder = await readHfFolder(dir);
  if (folder.isAdapter && !folder.config) {
    throw new WorkbenchError('model_is_adapter', `${dir} is a LoRA adapter, not a model; check the merged model folder instead.`);
  }
  // readHfFolder has validated tokenizer.json already; read its text once more for the encoder.
  const tokenizerText = folder.tokenizer?.kind === 'hf-json' ? await readRegularFile(path.join(dir, 'tokenizer.json'), 'utf8') : null;
  let tokenizer: HfTokenizer | null = null;
  let tokenizerProblem: string | null = tokenizerText ? null : 'the model folder has no tokenizer.json';
  if (tokenizerText) {
    try {
      tokenizer = HfTokenizer.shared(tokenizerText);
    } catch (error) {
      if (!(error instanceof WorkbenchError)) throw error;
      tokenizerProblem = error.message;
    }
  }
  const chatTemplate = folder.tokenizerConfig?.chatTemplate ?? null;
  const vars = { bosToken: folder.tokenizerConfig?.bosToken ?? '', eosToken: folder.tokenizerConfig?.eosToken ?? '' };
  let render: ModelSide['render'] = null;
  let renderProblem: string | null = chatTemplate ? null : 'The model folder has no chat template.';
  // A template past the sandbox's limits (templates/jinjaSandbox.ts) is refused here, once, rather than
  // every probe quietly failing and the packager writing it into a bundle.
  const tooCostly = (error: unknown): WorkbenchError | null => {
    if (!(error instanceof WorkbenchError) || error.code !== 'template_too_costly') return null;
    const source = folder.tokenizerConfig?.chatTemplateSource ?? 'the model folder';
    return new WorkbenchError(error.code, error.message.replace("The model's chat template", `The model's chat template (${source})`), { path: dir });
  };
  if (chatTemplate) {
    try {
      render = hfTemplateRenderer(chatTemplate, vars);
    } catch (error) {
      if (!(error instanceof WorkbenchError)) throw error;
      const refusal = tooCostly(error);
      if (refusal) throw refusal;
      renderProblem = error.message;
    }
  }
  if (render) {
    try {
      render([{ role: 'user', content: 'x' }], true);
    } catch (error) {
      const refusal = tooCostly(error);
      if (refusal) throw refusal;
    }
  }
  return { dir, folder, tokenizer, tokenizerProblem, tokenizerText, chatTemplate, vars, render, renderProblem };
}

/**
 * Metadata for a bare .tflite: LlmMetadata as JSON (the protobuf JSON
 * mapping, as `workbench inspect --json` prints it) or binary (.pb).
 */
export async function readMetadataFile(file: string): Promise<LlmMetadataJson> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file);
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    throw new WorkbenchError('file_not_found', `${file} does not exist.`, { path: file });
  }
  if (file.endsWith('.json')) {
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new WorkbenchError('bad_json', `${file} is not valid JSON (${(error as Error).message}).`, { path: file });
    }
    const parsed = LlmMetadataJson.safeParse(json);
    if (!parsed.success) {
      throw new WorkbenchError('bad_metadata', `${file} is not LlmMetadata JSON: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}.`, { path: file });
    }
    return parsed.data;
  }
  if (file.endsWith('.pbtext') || file.endsWith('.textproto')) {
    throw new WorkbenchError('unsupported_metadata_file', `${file} is protobuf text format; give the binary .pb or the JSON form instead.`, { path: file });
  }
  return decodeLlmMetadata(bytes, file);
}

export async function loadBundleSide(bundlePath: string, model: ModelSide, metadataPath?: string): Promise<BundleSide> {
  if (bundlePath.toLowerCase().endsWith('.tflite')) {
    const tflite: TfliteSummary = readTflite(bundlePath);
    const metadata = metadataPath ? await readMetadataFile(metadataPath) : null;
    return { path: bundlePath, kind: 'tflite', metadata, tokenizer: null, tflite };
  }
  // Each section is read once: the header, the .tflite in place (header
  // only), the tokenizer inflated once, the metadata decoded.
  const header = readLitertlmHeader(bundlePath);
  const tfliteSection = header.sections.find((s) => s.dataType === SectionType.TFLiteModel);
  const tflite = tfliteSection ? readTfliteSection(bundlePath, tfliteSection) : null;
  const metadata = metadataPath ? await readMetadataFile(metadataPath) : await readLlmMetadata(bundlePath);

  let tokenizer: BundleTokenizer | null = null;
  const hfSection = header.sections.find((s) => s.dataType === SectionType.HF_Tokenizer_Zlib);
  const spSection = header.sections.find((s) => s.dataType === SectionType.SP_Tokenizer);
  if (hfSection) {
    const hf = await bundleTokenizerJson(bundlePath, hfSection);
    const encoder = model.tokenizer && model.tokenizerText === hf.text ? model.tokenizer : tryTokenizer(hf.text);
    tokenizer = { kind: 'hf-json', text: hf.text, summary: hf.summary, tokenizer: encoder };
  } else if (spSection) {
    const bytes = await readSectionBytes(bundlePath, spSection, MAX_SENTENCEPIECE_BYTES);
    tokenizer = { kind: 'sentencepiece', summary: parseSentencePiece(bytes, `section ${spSection.index} of ${bundlePath}`) };
  }
  return { path: bundlePath, kind: 'litertlm', metadata, tokenizer, tflite };
}

/** How many inflated tokenizer texts stay cached (encoders: HfTokenizer.shared). */
const CACHE_ENTRIES = 3;

/** Tokenizer sections are a few MB; a larger one is corrupt. */
const MAX_SENTENCEPIECE_BYTES = 256 * 1024 * 1024;
const MAX_TOKENIZER_SECTION_BYTES = 256 * 1024 * 1024;

/**
 * Inflating and parsing a large tokenizer.json takes most of a second, and
 * check → fix → re-check reads the same compressed section again (the fix
 * copies it byte for byte), so the last inflated ones are kept by the hash
 * of the compressed bytes.
 */
const inflatedTokenizers = new RecentCache<string, { text: string; summary: HfTokenizerSummary }>(CACHE_ENTRIES);

async function bundleTokenizerJson(bundlePath: string, section: SectionHeader): Promise<{ text: string; summary: HfTokenizerSummary }> {
  const payload = await readSectionBytes(bundlePath, section, MAX_TOKENIZER_SECTION_BYTES);
  const key = createHash('sha256').update(payload).digest('hex');
  const hit = inflatedTokenizers.get(key);
  if (hit) return hit;
  const parsed = inflateHfTokenizer(payload, `section ${section.index} of ${bundlePath}`);
  return inflatedTokenizers.set(key, { text: new TextDecoder().decode(parsed.bytes), summary: parsed.summary });
}

function readTfliteSection(bundlePath: string, section: SectionHeader): TfliteSummary {
  const fd = openRegularFileSync(bundlePath);
  try {
    return readTfliteAt(fd, bundlePath, section.beginOffset, section.endOffset - section.beginOffset);
  } finally {
    closeSync(fd);
  }
}

/** The encoder for a tokenizer.json, or null when its kind cannot be reproduced exactly. */
function tryTokenizer(text: string): HfTokenizer | null {
  try {
    return HfTokenizer.shared(text);
  } catch (error) {
    if (error instanceof WorkbenchError) return null;
    throw error;
  }
}
