/**
 * Test bundles for the fidelity analyzer: a .litertlm holding a .tflite, the
 * model's tokenizer.json and an LlmMetadata, with one defect at a time.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { Builder } from 'flatbuffers';
import type { LlmMetadataJson } from '../../main/common/formats.js';
import { llmMetadataType } from '../../main/core/formats/llmMetadata.js';
import { tinyLlmTflite } from './fidelityModels.js';
import type { TinyLlmOptions } from './fidelityModels.js';

const BLOCK = 16 * 1024;

interface Section {
  dataType: number;
  data: Uint8Array;
  items?: Array<[string, string]>;
}

/** Writes a LiteRT-LM 1.0 file: preamble, header flatbuffer at 32, 16 KiB-aligned sections. */
function writeLitertlm(file: string, sections: Section[]): void {
  const pack = (offsets: Array<[number, number]>): Uint8Array => {
    const b = new Builder(1024);
    const kv = (key: string, value: string): number => {
      const k = b.createString(key);
      const v = b.createString(value);
      b.startObject(1);
      b.addFieldOffset(0, v, 0);
      const str = b.endObject();
      b.startObject(3);
      b.addFieldOffset(0, k, 0);
      b.addFieldInt8(1, 9, 0);
      b.addFieldOffset(2, str, 0);
      return b.endObject();
    };
    const vec = (items: number[]): number => {
      b.startVector(4, items.length, 4);
      for (let i = items.length - 1; i >= 0; i--) b.addOffset(items[i]!);
      return b.endVector();
    };
    const entries = vec([kv('arch', 'all'), kv('version', '0.1')]);
    b.startObject(1);
    b.addFieldOffset(0, entries, 0);
    const system = b.endObject();
    const objects = sections.map((s, i) => {
      const items = vec((s.items ?? []).map(([k, v]) => kv(k, v)));
      b.startObject(4);
      b.addFieldOffset(0, items, 0);
      b.addFieldInt64(1, BigInt(offsets[i]![0]), BigInt(0));
      b.addFieldInt64(2, BigInt(offsets[i]![1]), BigInt(0));
      b.addFieldInt8(3, s.dataType, 0);
      return b.endObject();
    });
    const objs = vec(objects);
    b.startObject(1);
    b.addFieldOffset(0, objs, 0);
    const sectionMeta = b.endObject();
    b.startObject(2);
    b.addFieldOffset(0, system, 0);
    b.addFieldOffset(1, sectionMeta, 0);
    b.finish(b.endObject());
    return b.asUint8Array();
  };
  const roundUp = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;
  // Pack once to learn the header size, then with the real offsets (same size).
  const first = pack(sections.map(() => [0, 0]));
  let at = roundUp(32 + first.length);
  const offsets = sections.map((s) => {
    const begin = at;
    at = roundUp(begin + s.data.length);
    return [begin, begin + s.data.length] as [number, number];
  });
  const header = pack(offsets);
  const out = new Uint8Array(at);
  out.set(new TextEncoder().encode('LITERTLM'), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, 1, true);
  view.setBigUint64(24, BigInt(32 + header.length), true);
  out.set(header, 32);
  sections.forEach((s, i) => out.set(s.data, offsets[i]![0]));
  writeFileSync(file, out);
}

const compressed = new Map<string, Uint8Array>();

/** HF_Tokenizer_Zlib payload; deflating the 11 MB Qwen tokenizer once per run keeps tests fast. */
export function hfTokenizerSection(tokenizerJson: Uint8Array): Uint8Array {
  const key = createHash('sha256').update(tokenizerJson).digest('hex');
  const cached = compressed.get(key);
  if (cached) return cached;
  const z = deflateSync(tokenizerJson, { level: 1 });
  const out = new Uint8Array(8 + z.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(tokenizerJson.length), true);
  out.set(z, 8);
  compressed.set(key, out);
  return out;
}

function encodeMetadata(metadata: LlmMetadataJson): Uint8Array {
  const type = llmMetadataType();
  return type.encode(type.fromObject(metadata)).finish();
}

export interface BundleOptions {
  metadata: LlmMetadataJson;
  /** tokenizer.json to embed (default: the model folder's). */
  tokenizerJson?: Uint8Array;
  tflite?: TinyLlmOptions;
}

/** A .litertlm with the tiny LLM .tflite, the tokenizer and the metadata. */
export function writeTestBundle(file: string, modelDir: string, options: BundleOptions): string {
  const tokenizer = options.tokenizerJson ?? readFileSync(path.join(modelDir, 'tokenizer.json'));
  writeLitertlm(file, [
    { dataType: 3, data: tinyLlmTflite(options.tflite ?? { kvCacheMaxLen: 4096 }), items: [['model_type', 'tf_lite_prefill_decode']] },
    { dataType: 6, data: hfTokenizerSection(tokenizer) },
    { dataType: 5, data: encodeMetadata(options.metadata) },
  ]);
  return file;
}
