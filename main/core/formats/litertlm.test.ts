import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Builder } from 'flatbuffers';
import type { Offset } from 'flatbuffers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LitertlmSummary } from '../../common/formats.js';
import { sentencePieceModel } from '../../../test/support/sentencePieceModel.js';
import { decodeLlmMetadata, encodeLlmMetadata, shortestFloat32 } from './llmMetadata.js';
import { readBundleTokenizerJson, readLitertlm, readLitertlmHeader, readLlmMetadata, readSectionBytes } from './litertlm.js';
import { parseSentencePiece } from './sentencepiece.js';

const FIXTURES = '/work/shared/fixtures/litertlm';
const BUNDLE = path.join(FIXTURES, 'test_hf_tokenizer.litertlm');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'litertlm-reader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Numeric = { key: string; tag: number; value: number | bigint | boolean };

/**
 * A bundle header with numeric key/values in either VData encoding (structs
 * as 1.0/1.1 writers stored them, tables as newer ones do), plus one section
 * of generic data. The packager only writes strings, so this is test-only.
 */
function bundleWithNumerics(minor: number, encoding: 'struct' | 'table', values: Numeric[]): Uint8Array {
  const b = new Builder(1024);
  const scalar = (tag: number, value: Numeric['value']): void => {
    switch (tag) {
      case 1: b.addInt8(Number(value)); break;
      case 2: b.addInt8(Number(value)); break;
      case 4: b.addInt16(Number(value)); break;
      case 6: b.addInt32(Number(value)); break;
      case 7: b.addFloat32(Number(value)); break;
      case 8: b.addInt8(value ? 1 : 0); break;
      case 10: case 11: b.addInt64(BigInt(value)); break;
      case 12: b.addFloat64(Number(value)); break;
      default: throw new Error(`tag ${tag}`);
    }
  };
  const size = (tag: number): number => ({ 1: 1, 2: 1, 4: 2, 6: 4, 7: 4, 8: 1, 10: 8, 11: 8, 12: 8 })[tag] ?? 0;
  const pairs: Offset[] = values.map(({ key, tag, value }) => {
    const keyOffset = b.createString(key);
    let valueOffset: Offset;
    if (encoding === 'struct') {
      b.prep(size(tag), 0);
      scalar(tag, value);
      valueOffset = b.offset();
    } else {
      b.startObject(1);
      scalar(tag, value);
      b.slot(0);
      valueOffset = b.endObject();
    }
    b.startObject(3);
    b.addFieldOffset(0, keyOffset, 0);
    b.addFieldInt8(1, tag, 0);
    b.addFieldOffset(2, valueOffset, 0);
    return b.endObject();
  });
  b.startVector(4, pairs.length, 4);
  for (let i = pairs.length - 1; i >= 0; i--) b.addOffset(pairs[i]!);
  const entries = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, entries, 0);
  const system = b.endObject();
  b.startObject(4);
  b.addFieldInt64(1, 16384n, 0n);
  b.addFieldInt64(2, 16389n, 0n);
  b.addFieldInt8(3, 1, 0);
  const object = b.endObject();
  b.startVector(4, 1, 4);
  b.addOffset(object);
  const objects = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, objects, 0);
  const sections = b.endObject();
  b.startObject(2);
  b.addFieldOffset(0, system, 0);
  b.addFieldOffset(1, sections, 0);
  b.finish(b.endObject());
  const header = b.asUint8Array();
  const file = new Uint8Array(32768);
  file.set(new TextEncoder().encode('LITERTLM'), 0);
  const view = new DataView(file.buffer);
  view.setUint32(8, 1, true);
  view.setUint32(12, minor, true);
  view.setBigUint64(24, BigInt(32 + header.byteLength), true);
  file.set(header, 32);
  file.set(new TextEncoder().encode('hello'), 16384);
  return file;
}

const NUMERICS: Numeric[] = [
  { key: 'u8', tag: 1, value: 200 },
  { key: 'i16', tag: 4, value: -1234 },
  { key: 'i32', tag: 6, value: -70000 },
  { key: 'f32', tag: 7, value: 0.5 },
  { key: 'flag', tag: 8, value: true },
  { key: 'u64', tag: 10, value: 1234567890123n },
  { key: 'i64big', tag: 11, value: -(2n ** 62n) },
  { key: 'f64', tag: 12, value: 2.25 },
];
const EXPECTED = [
  { key: 'u8', type: 'uint8', value: 200 },
  { key: 'i16', type: 'int16', value: -1234 },
  { key: 'i32', type: 'int32', value: -70000 },
  { key: 'f32', type: 'float32', value: 0.5 },
  { key: 'flag', type: 'bool', value: true },
  { key: 'u64', type: 'uint64', value: 1234567890123 },
  { key: 'i64big', type: 'int64', value: (-(2n ** 62n)).toString() },
  { key: 'f64', type: 'double', value: 2.25 },
];

describe('readLitertlm', () => {
  it('reads the real fixture bundle', async () => {
    const summary = await readLitertlm(BUNDLE);
    expect(LitertlmSummary.parse(summary)).toEqual(summary);
    expect(summary.version).toEqual({ major: 1, minor: 0, patch: 0 });
    expect(summary.headerEnd).toBe(240);
    expect(summary.sizeBytes).toBe(38 * 16384);
    expect(summary.systemMetadata).toEqual([
      { key: 'arch', type: 'string', value: 'all' },
      { key: 'version', type: 'string', value: '0.1' },
    ]);
    expect(summary.sections).toHaveLength(1);
    const [section] = summary.sections;
    expect(section).toMatchObject({ index: 0, dataType: 6, dataTypeName: 'HF_Tokenizer_Zlib', beginOffset: 16384, endOffset: 609288, aligned: true, items: [] });
    expect(section?.content.kind).toBe('tokenizer');
    if (section?.content.kind === 'tokenizer') {
      expect(section.content.tokenizer).toMatchObject({ kind: 'hf-json', modelType: 'BPE', vocabSize: 49152, sizeBytes: 2_104_556 });
    }
    expect(summary.warnings).toEqual([]);
  });

  it('gives the inflated tokenizer.json and no metadata for the fixture', async () => {
    const tokenizer = await readBundleTokenizerJson(BUNDLE);
    expect(tokenizer?.bytes.byteLength).toBe(2_104_556);
    expect(Buffer.compare(Buffer.from(tokenizer!.bytes), readFileSync(path.join(FIXTURES, 'tokenizer.json')))).toBe(0);
    expect(tokenizer?.summary.addedTokens.find((t) => t.content === '<|im_end|>')).toEqual({ id: 2, content: '<|im_end|>', special: true });
    expect(await readLlmMetadata(BUNDLE)).toBeNull();
  });

  it('reads numeric values stored as structs (1.0/1.1) and as tables (newer)', async () => {
    const structFile = path.join(dir, 'struct.litertlm');
    const tableFile = path.join(dir, 'table.litertlm');
    await writeFile(structFile, bundleWithNumerics(1, 'struct', NUMERICS));
    await writeFile(tableFile, bundleWithNumerics(5, 'table', NUMERICS));
    const asStruct = readLitertlmHeader(structFile);
    const asTable = readLitertlmHeader(tableFile);
    expect(asStruct.numericEncoding).toBe('struct');
    expect(asTable.numericEncoding).toBe('table');
    expect(asStruct.systemMetadata).toEqual(EXPECTED);
    expect(asTable.systemMetadata).toEqual(EXPECTED);
    const summary = await readLitertlm(tableFile);
    expect(summary.sections[0]).toMatchObject({ dataTypeName: 'GenericBinaryData', sizeBytes: 5, content: { kind: 'opaque' } });
  });
});

describe('section edge cases', () => {
  it('reads an empty section', async () => {
    const file = path.join(dir, 'edge.litertlm');
    const bytes = bundleWithNumerics(1, 'struct', []);
    const view = new DataView(bytes.buffer);
    // The generic section is [16384, 16389): make it empty.
    const endAt = [...Array(bytes.length - 8).keys()].find((i) => i >= 32 && i < 16384 && view.getBigUint64(i, true) === 16389n)!;
    view.setBigUint64(endAt, 16384n, true);
    await writeFile(file, bytes);
    const header = readLitertlmHeader(file);
    expect(header.sections[0]).toMatchObject({ beginOffset: 16384, endOffset: 16384 });
    expect(await readSectionBytes(file, header.sections[0]!, 10)).toEqual(new Uint8Array(0));
    expect((await readLitertlm(file)).sections[0]).toMatchObject({ sizeBytes: 0, content: { kind: 'opaque' } });
  });
});

describe('LlmMetadata', () => {
  it('decodes the fixture and encodes it back to the same bytes', () => {
    const bytes = readFileSync(path.join(FIXTURES, 'llm_metadata.pb'));
    const json = decodeLlmMetadata(bytes, 'llm_metadata.pb');
    expect(json).toEqual({ startToken: { tokenStr: '<bos>' }, stopTokens: [{ tokenStr: '<eos>' }, { tokenStr: '<end_of_turn>' }] });
    expect(Buffer.compare(Buffer.from(encodeLlmMetadata(json)), bytes)).toBe(0);
  });

  it('round-trips every field family, with float32 values as typed', () => {
    const json = {
      startToken: { tokenIds: { ids: [151643] } },
      stopTokens: [{ tokenIds: { ids: [151645] } }, { tokenStr: '<|endoftext|>' }],
      promptTemplates: { user: { prefix: '<|im_start|>user\n', suffix: '<|im_end|>\n' }, model: { prefix: '<|im_start|>assistant\n' } },
      samplerParams: { type: 'TOP_P' as const, k: 20, p: 0.8, temperature: 0.7, seed: 7 },
      maxNumTokens: 4096,
      llmModelType: { qwen2p5: {} },
      jinjaPromptTemplate: '{% for m in messages %}{{ m.content }}{% endfor %}',
      supportsThinking: false,
      kvCacheInitValue: 3,
      minRuntimeVersion: '0.11.0',
    };
    expect(decodeLlmMetadata(encodeLlmMetadata(json), 'round trip')).toEqual(json);
    expect(shortestFloat32(Math.fround(0.95))).toBe(0.95);
  });

  it('refuses invalid metadata and garbage protobufs with clear errors', () => {
    expect(() => encodeLlmMetadata({ stopTokens: [{ tokenStr: 3 }] })).toThrow(/LlmMetadata is invalid: stopTokens\.0/);
    expect(() => encodeLlmMetadata({ notAField: true })).toThrow(/notAField/);
    expect(() => decodeLlmMetadata(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f]), 'garbage')).toThrow(/LlmMetadata in garbage is not a valid protocol buffer/);
  });
});

describe('SentencePiece', () => {
  it('recognises a serialized model and lists its control pieces', () => {
    const pieces: [string, number][] = [['<unk>', 2], ['<bos>', 3], ['<eos>', 3], ['▁hello', 1], ['<start_of_turn>', 4]];
    const summary = parseSentencePiece(sentencePieceModel(pieces), 'test');
    expect(summary).toMatchObject({
      kind: 'sentencepiece',
      modelType: 'BPE',
      pieceCount: 5,
      specialPieces: [
        { id: 1, content: '<bos>', special: true },
        { id: 2, content: '<eos>', special: true },
        { id: 4, content: '<start_of_turn>', special: false },
      ],
    });
    expect(() => parseSentencePiece(new TextEncoder().encode('{"model": {}}'), 'a JSON file')).toThrow(/not a valid model/);
  });
});
