/**
 * Reader for LiteRT-LM bundles (.litertlm): the 32-byte preamble, the header
 * flatbuffer (system metadata, sections), and a summary of each section's
 * content: the embedded .tflite read in place, the tokenizer (HF tokenizer.json
 * inflated and summarised, or SentencePiece), the decoded LlmMetadata.
 * Layout and schema: docs in ../shared/design/FORMATS.md, upstream
 * schema/core/litertlm_header_schema.fbs (copy in resources/schema/).
 *
 * Also the helpers the fidelity analyzer and the packager's --fix-metadata
 * path use: `readLitertlmHeader`, `readLlmMetadata`, `readBundleTokenizerJson`,
 * `sectionStream` / `readSectionBytes`.
 */
import { closeSync, createReadStream, fstatSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { inflateSync } from 'node:zlib';
import { FormatErrorCode } from '../../common/formats.js';
import type { KeyValue, LitertlmSummary, LlmMetadataJson, SectionContent, SectionSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { enumName, fbsEnum } from './fbsEnums.js';
import { FbTable, FlatbufferRangeError, WindowByteBuffer } from './flatbuffer.js';
import { parseHfTokenizer } from './hfTokenizer.js';
import type { ParsedHfTokenizer } from './hfTokenizer.js';
import { decodeLlmMetadata } from './llmMetadata.js';
import { notFound } from './reader.js';
import { openRegularFileSync } from '../files/regularFile.js';
import type { FormatReader, PathProbe } from './reader.js';
import { parseSentencePiece } from './sentencepiece.js';
import { readTfliteAt } from './tflite.js';

export const LITERTLM_MAGIC = 'LITERTLM';
export const LITERTLM_PREAMBLE_BYTES = 32;
export const LITERTLM_BLOCK_SIZE = 16 * 1024;
/** Real headers are a few KiB; anything past this is a corrupt length, not a header. */
export const LITERTLM_MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** AnySectionDataType values the workbench acts on. */
export const SectionType = {
  GenericBinaryData: 1,
  TFLiteModel: 3,
  SP_Tokenizer: 4,
  LlmMetadataProto: 5,
  HF_Tokenizer_Zlib: 6,
} as const;

/** Field ids (declaration order) in litertlm_header_schema.fbs; a union takes two. */
export const LITERTLM_FIELDS = {
  LiteRTLMMetaData: { system_metadata: 0, section_metadata: 1 },
  SystemMetadata: { entries: 0 },
  SectionMetadata: { objects: 0 },
  SectionObject: { items: 0, begin_offset: 1, end_offset: 2, data_type: 3 },
  KeyValuePair: { key: 0, value_type: 1, value: 2 },
  StringValue: { value: 0 },
} as const;
const F = LITERTLM_FIELDS;

/** VData union members: tag → (name, byte size of the scalar). */
const VDATA: Record<number, { name: string; size: number }> = {
  1: { name: 'uint8', size: 1 },
  2: { name: 'int8', size: 1 },
  3: { name: 'uint16', size: 2 },
  4: { name: 'int16', size: 2 },
  5: { name: 'uint32', size: 4 },
  6: { name: 'int32', size: 4 },
  7: { name: 'float32', size: 4 },
  8: { name: 'bool', size: 1 },
  9: { name: 'string', size: 0 },
  10: { name: 'uint64', size: 8 },
  11: { name: 'int64', size: 8 },
  12: { name: 'double', size: 8 },
};

export interface SectionHeader {
  index: number;
  dataType: number;
  dataTypeName: string;
  beginOffset: number;
  endOffset: number;
  items: KeyValue[];
}

export interface LitertlmHeader {
  path: string;
  sizeBytes: number;
  version: { major: number; minor: number; patch: number };
  headerEnd: number;
  numericEncoding: 'struct' | 'table' | 'none';
  systemMetadata: KeyValue[];
  sections: SectionHeader[];
}

export const litertlmFormat: FormatReader<LitertlmSummary> = {
  format: 'litertlm',
  match(probe: PathProbe): boolean {
    return !probe.isDirectory && new TextDecoder().decode(probe.head.subarray(0, 8)) === LITERTLM_MAGIC;
  },
  open: readLitertlm,
};

/** The full summary: header plus every section's content (never loading weights). */
export async function readLitertlm(path: string): Promise<LitertlmSummary> {
  const header = readLitertlmHeader(path);
  const warnings: string[] = [];
  const sections: SectionSummary[] = [];
  const ordered = [...header.sections].sort((a, b) => a.beginOffset - b.beginOffset);
  for (let i = 1; i < ordered.length; i++) {
    const previous = ordered[i - 1]!;
    const current = ordered[i]!;
    if (current.beginOffset < previous.endOffset) {
      warnings.push(`Sections ${previous.index} and ${current.index} overlap ([${previous.beginOffset}, ${previous.endOffset}) and [${current.beginOffset}, ${current.endOffset})); one of them is corrupt.`);
    }
  }
  for (const section of header.sections) {
    const aligned = section.beginOffset % LITERTLM_BLOCK_SIZE === 0;
    if (!aligned) warnings.push(`Section ${section.index} (${section.dataTypeName}) starts at ${section.beginOffset}, not on a 16 KiB boundary; the runtime memory-maps sections and may refuse it.`);
    let content: SectionContent;
    try {
      content = await sectionContent(path, section);
    } catch (error) {
      if (!(error instanceof WorkbenchError)) throw error;
      content = { kind: 'error', code: error.code, message: error.message };
      warnings.push(`Section ${section.index} (${section.dataTypeName}): ${error.message}`);
    }
    sections.push({ ...section, sizeBytes: section.endOffset - section.beginOffset, aligned, content });
  }
  return { format: 'litertlm', ...header, sections, warnings };
}

/** Reads and validates the preamble and header flatbuffer only. */
export function readLitertlmHeader(path: string): LitertlmHeader {
  let fd: number;
  try {
    fd = openRegularFileSync(path);
  } catch (error) {
    throw notFound(path, error);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < LITERTLM_PREAMBLE_BYTES) {
      throw new WorkbenchError(FormatErrorCode.truncated, `${path} is ${size} bytes long, shorter than the 32-byte LiteRT-LM preamble.`, { path });
    }
    const preamble = readExactly(fd, 0, LITERTLM_PREAMBLE_BYTES);
    const view = new DataView(preamble.buffer, preamble.byteOffset, preamble.byteLength);
    const magic = new TextDecoder().decode(preamble.subarray(0, 8));
    if (magic !== LITERTLM_MAGIC) {
      throw new WorkbenchError(FormatErrorCode.badMagic, `${path} is not a LiteRT-LM bundle (it does not start with "LITERTLM").`, { path });
    }
    const version = { major: view.getUint32(8, true), minor: view.getUint32(12, true), patch: view.getUint32(16, true) };
    if (version.major !== 1) {
      throw new WorkbenchError(
        FormatErrorCode.unsupportedVersion,
        `${path} is LiteRT-LM format version ${version.major}.${version.minor}.${version.patch}; this workbench reads major version 1.`,
        { path, version },
      );
    }
    const headerEndBig = view.getBigUint64(24, true);
    if (headerEndBig > BigInt(LITERTLM_MAX_HEADER_BYTES)) {
      throw new WorkbenchError(FormatErrorCode.headerTooLarge, `${path} declares a ${headerEndBig}-byte header; real headers are a few KiB, so the file is corrupt.`, { path });
    }
    const headerEnd = Number(headerEndBig);
    if (headerEnd <= LITERTLM_PREAMBLE_BYTES) {
      throw new WorkbenchError(FormatErrorCode.corrupt, `${path} declares its header ends at byte ${headerEnd}, before the header starts (32).`, { path });
    }
    if (headerEnd > size) {
      throw new WorkbenchError(FormatErrorCode.truncated, `${path} is truncated: its header ends at byte ${headerEnd} but the file has ${size} bytes.`, { path });
    }
    const bb = WindowByteBuffer.fromBytes(readExactly(fd, LITERTLM_PREAMBLE_BYTES, headerEnd - LITERTLM_PREAMBLE_BYTES));
    let parsed: ReturnType<typeof parseHeader>;
    try {
      parsed = parseHeader(bb, version.minor);
    } catch (error) {
      if (error instanceof FlatbufferRangeError) {
        throw new WorkbenchError(FormatErrorCode.corrupt, `${path} has a corrupt header: the header flatbuffer points outside itself (${error.message}).`, { path });
      }
      throw error;
    }
    for (const section of parsed.sections) {
      checkSectionRange(path, section, headerEnd, size);
    }
    return { path, sizeBytes: size, version, headerEnd, ...parsed };
  } finally {
    closeSync(fd);
  }
}

function checkSectionRange(path: string, section: SectionHeader, headerEnd: number, size: number): void {
  const label = `section ${section.index} (${section.dataTypeName})`;
  const details = { path, section: section.index, beginOffset: section.beginOffset, endOffset: section.endOffset, fileSize: size };
  if (section.beginOffset > size) {
    throw new WorkbenchError(FormatErrorCode.outOfRange, `${path} is corrupt: ${label} starts at byte ${section.beginOffset}, past the end of the file (${size} bytes).`, details);
  }
  if (section.endOffset > size) {
    throw new WorkbenchError(FormatErrorCode.truncated, `${path} is truncated: ${label} ends at byte ${section.endOffset} but the file has ${size} bytes.`, details);
  }
  if (section.endOffset < section.beginOffset) {
    throw new WorkbenchError(FormatErrorCode.corrupt, `${path} is corrupt: ${label} ends (${section.endOffset}) before it begins (${section.beginOffset}).`, details);
  }
  if (section.beginOffset < headerEnd) {
    throw new WorkbenchError(FormatErrorCode.corrupt, `${path} is corrupt: ${label} starts at byte ${section.beginOffset}, inside the header (which ends at ${headerEnd}).`, details);
  }
}

function parseHeader(bb: WindowByteBuffer, minorVersion: number): Pick<LitertlmHeader, 'numericEncoding' | 'systemMetadata' | 'sections'> {
  const sectionTypes = fbsEnum('litertlm_header_schema.fbs', 'AnySectionDataType');
  const root = FbTable.root(bb);
  const encodings = new Set<'struct' | 'table'>();
  const readPairs = (table: FbTable | null, field: number): KeyValue[] =>
    table ? table.tables(field).map((pair) => keyValue(pair, minorVersion, encodings)) : [];
  const systemMetadata = readPairs(root.table(F.LiteRTLMMetaData.system_metadata), F.SystemMetadata.entries);
  const sectionMetadata = root.table(F.LiteRTLMMetaData.section_metadata);
  const sections = (sectionMetadata?.tables(F.SectionMetadata.objects) ?? []).map((object, index): SectionHeader => {
    const dataType = object.uint8(F.SectionObject.data_type);
    return {
      index,
      dataType,
      dataTypeName: enumName(sectionTypes, dataType, 'Type'),
      beginOffset: safeNumber(object.uint64(F.SectionObject.begin_offset)),
      endOffset: safeNumber(object.uint64(F.SectionObject.end_offset)),
      items: readPairs(object, F.SectionObject.items),
    };
  });
  const numericEncoding = encodings.has('table') ? 'table' : encodings.has('struct') ? 'struct' : 'none';
  return { numericEncoding, systemMetadata, sections };
}

/**
 * One KeyValuePair. Numeric VData members are structs in files written by
 * 1.0/1.1 builders (the union offset points at the raw value) and tables in
 * newer ones (value in field 0). Newer files are read as tables when the
 * target has a valid vtable, which a struct's raw bytes almost never form.
 */
function keyValue(pair: FbTable, minorVersion: number, encodings: Set<'struct' | 'table'>): KeyValue {
  const key = pair.string(F.KeyValuePair.key) ?? '';
  const tag = pair.uint8(F.KeyValuePair.value_type);
  const member = VDATA[tag];
  const at = pair.target(F.KeyValuePair.value);
  if (!member || at === null) return { key, type: member?.name ?? `vdata${tag}`, value: '' };
  const bb = pair.bb;
  if (member.name === 'string') {
    return { key, type: 'string', value: new FbTable(bb, at).string(F.StringValue.value) ?? '' };
  }
  let valueAt = at;
  let encoding: 'struct' | 'table' = 'struct';
  if (minorVersion > 1) {
    try {
      const table = new FbTable(bb, at);
      const o = table.offset(0);
      encoding = 'table';
      if (o === 0) {
        encodings.add(encoding);
        return { key, type: member.name, value: member.name === 'bool' ? false : 0 };
      }
      valueAt = at + o;
    } catch (error) {
      if (!(error instanceof FlatbufferRangeError)) throw error;
    }
  }
  encodings.add(encoding);
  bb.check(valueAt, member.size);
  return { key, type: member.name, value: scalar(bb, valueAt, member.name) };
}

function scalar(bb: WindowByteBuffer, at: number, type: string): number | string | boolean {
  switch (type) {
    case 'uint8':
      return bb.readUint8(at);
    case 'int8':
      return bb.readInt8(at);
    case 'uint16':
      return bb.readUint16(at);
    case 'int16':
      return bb.readInt16(at);
    case 'uint32':
      return bb.readUint32(at);
    case 'int32':
      return bb.readInt32(at);
    case 'float32':
      return bb.readFloat32(at);
    case 'bool':
      return bb.readUint8(at) !== 0;
    case 'uint64':
      return safeOrString(bb.readUint64(at));
    case 'int64':
      return safeOrString(bb.readInt64(at));
    default:
      return bb.readFloat64(at);
  }
}

async function sectionContent(path: string, section: SectionHeader): Promise<SectionContent> {
  const size = section.endOffset - section.beginOffset;
  switch (section.dataType) {
    case SectionType.TFLiteModel: {
      const fd = openRegularFileSync(path);
      try {
        return { kind: 'tflite', tflite: readTfliteAt(fd, path, section.beginOffset, size) };
      } finally {
        closeSync(fd);
      }
    }
    case SectionType.HF_Tokenizer_Zlib: {
      const { summary } = inflateHfTokenizer(await readSectionBytes(path, section, MAX_TOKENIZER_SECTION_BYTES), `section ${section.index} of ${path}`);
      return { kind: 'tokenizer', tokenizer: summary };
    }
    case SectionType.SP_Tokenizer:
      return { kind: 'tokenizer', tokenizer: parseSentencePiece(await readSectionBytes(path, section, MAX_TOKENIZER_SECTION_BYTES), `section ${section.index} of ${path}`) };
    case SectionType.LlmMetadataProto:
      return { kind: 'llm-metadata', metadata: decodeLlmMetadata(await readSectionBytes(path, section, MAX_METADATA_SECTION_BYTES), `section ${section.index} of ${path}`) };
    default:
      return { kind: 'opaque' };
  }
}

/** Tokenizers are a few MB compressed; a larger "tokenizer" section is corrupt, and must not be read into memory whole. */
const MAX_TOKENIZER_SECTION_BYTES = 256 * 1024 * 1024;
const MAX_METADATA_SECTION_BYTES = 64 * 1024 * 1024;
/** The largest inflated tokenizer.json we accept (real ones are 2–35 MB). */
const MAX_INFLATED_TOKENIZER_BYTES = 1024 * 1024 * 1024;

/**
 * Inflates an HF_Tokenizer_Zlib payload (u64 little-endian inflated length,
 * then a zlib stream) and summarises the tokenizer.json it holds.
 */
export function inflateHfTokenizer(payload: Uint8Array, source: string): ParsedHfTokenizer & { bytes: Uint8Array } {
  if (payload.byteLength < 8) {
    throw new WorkbenchError(FormatErrorCode.badZlib, `The HF tokenizer in ${source} is ${payload.byteLength} bytes, too short for its 8-byte length prefix.`, { source });
  }
  const declared = new DataView(payload.buffer, payload.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(MAX_INFLATED_TOKENIZER_BYTES)) {
    throw new WorkbenchError(FormatErrorCode.badZlib, `The HF tokenizer in ${source} declares ${declared} inflated bytes, more than any real tokenizer.json.`, { source });
  }
  let bytes: Buffer;
  try {
    bytes = inflateSync(payload.subarray(8), { maxOutputLength: Number(declared) + 1 });
  } catch (error) {
    throw new WorkbenchError(FormatErrorCode.badZlib, `The HF tokenizer in ${source} does not inflate (${(error as Error).message}).`, { source });
  }
  if (bytes.byteLength !== Number(declared)) {
    throw new WorkbenchError(FormatErrorCode.badZlib, `The HF tokenizer in ${source} inflates to ${bytes.byteLength} bytes but its prefix says ${declared}.`, { source });
  }
  return { ...parseHfTokenizer(bytes, source), bytes };
}

/** A stream of one section's bytes (memory independent of the section size). */
export function sectionStream(path: string, section: Pick<SectionHeader, 'beginOffset' | 'endOffset'>): Readable {
  // createReadStream cannot express an empty range (end is inclusive).
  if (section.endOffset === section.beginOffset) return Readable.from([]);
  return createReadStream(path, { start: section.beginOffset, end: section.endOffset - 1, highWaterMark: 1024 * 1024 });
}

/** One section's bytes in memory, refusing sections larger than `maxBytes`. */
export async function readSectionBytes(path: string, section: SectionHeader, maxBytes: number): Promise<Uint8Array> {
  const size = section.endOffset - section.beginOffset;
  if (size > maxBytes) {
    throw new WorkbenchError(
      FormatErrorCode.outOfRange,
      `Section ${section.index} (${section.dataTypeName}) of ${path} is ${size} bytes, larger than the ${maxBytes} bytes such a section can hold.`,
      { path, section: section.index },
    );
  }
  const out = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of sectionStream(path, section) as AsyncIterable<Buffer>) {
    out.set(chunk, filled);
    filled += chunk.byteLength;
  }
  if (filled !== size) {
    throw new WorkbenchError(FormatErrorCode.truncated, `${path} changed while reading section ${section.index}.`, { path });
  }
  return out;
}

/** The bundle's LlmMetadata (first LlmMetadataProto section), or null when it has none. */
export async function readLlmMetadata(path: string): Promise<LlmMetadataJson | null> {
  const header = readLitertlmHeader(path);
  const section = header.sections.find((s) => s.dataType === SectionType.LlmMetadataProto);
  if (!section) return null;
  return decodeLlmMetadata(await readSectionBytes(path, section, MAX_METADATA_SECTION_BYTES), `section ${section.index} of ${path}`);
}

/**
 * The bundle's HF tokenizer.json, inflated (text, bytes, parsed JSON and
 * summary), or null when the bundle carries no HF tokenizer.
 */
export async function readBundleTokenizerJson(path: string): Promise<(ParsedHfTokenizer & { bytes: Uint8Array; text: string }) | null> {
  const header = readLitertlmHeader(path);
  const section = header.sections.find((s) => s.dataType === SectionType.HF_Tokenizer_Zlib);
  if (!section) return null;
  const parsed = inflateHfTokenizer(await readSectionBytes(path, section, MAX_TOKENIZER_SECTION_BYTES), `section ${section.index} of ${path}`);
  return { ...parsed, text: new TextDecoder().decode(parsed.bytes) };
}

function readExactly(fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, out, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  if (filled !== length) throw new WorkbenchError(FormatErrorCode.truncated, `The file ended after ${position + filled} bytes while reading ${length} bytes at ${position}.`);
  return out;
}

/** Offsets and sizes: exact numbers up to 2^53 (8 PiB), which every real file is below. */
function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  return Number(value);
}

function safeOrString(value: bigint): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}
