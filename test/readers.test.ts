/**
 * The format readers' regression table (Netron's test/models.json idea): real
 * files with what they must read as, and broken variants generated from them
 * with the error each must produce. One runner walks every row.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InspectionSummary } from '../main/common/formats.js';
import type { InspectionSummary as Summary } from '../main/common/formats.js';
import { WorkbenchError } from '../main/common/errors.js';
import { inspectPath } from '../main/core/formats/detect.js';
import { readHfFolder } from '../main/core/formats/hfFolder.js';
import { readBundleTokenizerJson, readLitertlm, readLlmMetadata } from '../main/core/formats/litertlm.js';
import { readTflite } from '../main/core/formats/tflite.js';
import { writeLitertlm } from '../main/core/packager/writer.js';

const FIXTURES = '/work/shared/fixtures';
const BUNDLE = path.join(FIXTURES, 'litertlm', 'test_hf_tokenizer.litertlm');
const TFLITE = path.join(FIXTURES, 'tflite', 'dummy_embedding_cpu_model.tflite');
let dir: string;

type Reader = (file: string) => Promise<unknown>;
const readers: Record<string, Reader> = {
  inspect: inspectPath,
  litertlm: readLitertlm,
  tflite: async (file) => readTflite(file),
  hfFolder: readHfFolder,
  bundleTokenizer: readBundleTokenizerJson,
  bundleMetadata: readLlmMetadata,
};

type Expectation =
  | { reads: (summary: Summary) => void }
  | { code: string; message: RegExp }
  /** The header reads, but one section's content is broken. */
  | { sectionError: { index: number; code: string; message: RegExp } };

interface Row {
  name: string;
  reader: keyof typeof readers;
  make: () => Promise<string>;
  expect: Expectation;
}

/** Deterministic pseudo-random bytes (so a failing row reproduces). */
function garbage(length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function variant(name: string, source: string, edit: (bytes: Uint8Array) => Uint8Array | void): Promise<string> {
  const bytes = new Uint8Array(await readFile(source));
  const edited = edit(bytes) ?? bytes;
  const file = path.join(dir, name);
  await writeFile(file, edited);
  return file;
}

/** Position of a little-endian u64 value in the bundle header (to corrupt a section offset). */
function u64At(bytes: Uint8Array, value: number, from = 32, to = 240): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = from; i + 8 <= to; i++) if (view.getBigUint64(i, true) === BigInt(value)) return i;
  throw new Error(`u64 ${value} not found`);
}

const setU64 = (bytes: Uint8Array, at: number, value: bigint): void => new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(at, value, true);

async function bundleWithSection(name: string, dataType: number, payload: Uint8Array): Promise<string> {
  const file = path.join(dir, name);
  await writeLitertlm(file, { systemMetadata: [], sections: [{ dataType, payload: { kind: 'bytes', bytes: payload } }] });
  return file;
}

const rows: Row[] = [
  // ---- real files
  {
    name: 'fixture bundle',
    reader: 'inspect',
    make: async () => BUNDLE,
    expect: {
      reads: (s) => {
        expect(s.format).toBe('litertlm');
        if (s.format !== 'litertlm') return;
        expect(s.sections.map((x) => [x.dataType, x.beginOffset, x.endOffset])).toEqual([[6, 16384, 609288]]);
      },
    },
  },
  {
    name: 'fixture tflite',
    reader: 'inspect',
    make: async () => TFLITE,
    expect: { reads: (s) => expect(s.format === 'tflite' && s.signatures[0]?.inputs[0]).toEqual({ name: 'embeddings', type: 'INT32', shape: [1], shapeSignature: null }) },
  },
  {
    name: 'Qwen tokenizer folder',
    reader: 'inspect',
    make: async () => path.join(FIXTURES, 'qwen3-tokenizer'),
    expect: { reads: (s) => expect(s.format === 'hf-folder' && s.tokenizerConfig?.eosToken).toBe('<|im_end|>') },
  },

  // ---- .litertlm
  { name: 'missing file', reader: 'inspect', make: async () => path.join(dir, 'nope.litertlm'), expect: { code: 'file_not_found', message: /nope\.litertlm does not exist/ } },
  { name: 'empty file', reader: 'inspect', make: async () => variant('empty.litertlm', BUNDLE, () => new Uint8Array(0)), expect: { code: 'unknown_format', message: /is empty/ } },
  {
    name: 'bundle shorter than its preamble',
    reader: 'inspect',
    make: () => variant('short.litertlm', BUNDLE, (b) => b.subarray(0, 20)),
    expect: { code: 'truncated_file', message: /shorter than the 32-byte LiteRT-LM preamble/ },
  },
  {
    name: 'wrong magic (detected)',
    reader: 'inspect',
    make: () => variant('magic.litertlm', BUNDLE, (b) => void (b[0] = 0x58)),
    expect: { code: 'unknown_format', message: /neither a \.litertlm bundle nor a \.tflite model/ },
  },
  {
    name: 'wrong magic (read as a bundle)',
    reader: 'litertlm',
    make: () => variant('magic2.litertlm', BUNDLE, (b) => void (b[0] = 0x58)),
    expect: { code: 'bad_magic', message: /does not start with "LITERTLM"/ },
  },
  {
    name: 'major version 2',
    reader: 'inspect',
    make: () => variant('v2.litertlm', BUNDLE, (b) => void (b[8] = 2)),
    expect: { code: 'unsupported_version', message: /format version 2\.0\.0; this workbench reads major version 1/ },
  },
  {
    name: 'huge header length',
    reader: 'inspect',
    make: () => variant('huge-header.litertlm', BUNDLE, (b) => setU64(b, 24, 1n << 40n)),
    expect: { code: 'header_too_large', message: /declares a 1099511627776-byte header/ },
  },
  {
    name: 'header end before the header',
    reader: 'inspect',
    make: () => variant('header-end-16.litertlm', BUNDLE, (b) => setU64(b, 24, 16n)),
    expect: { code: 'corrupt_file', message: /header ends at byte 16, before the header starts/ },
  },
  {
    name: 'truncated inside the header',
    reader: 'inspect',
    make: () => variant('cut-header.litertlm', BUNDLE, (b) => b.subarray(0, 200)),
    expect: { code: 'truncated_file', message: /header ends at byte 240 but the file has 200 bytes/ },
  },
  {
    name: 'garbage header flatbuffer',
    reader: 'inspect',
    make: () => variant('garbage-header.litertlm', BUNDLE, (b) => void b.set(garbage(208), 32)),
    expect: { code: 'corrupt_file', message: /corrupt header: the header flatbuffer points outside itself/ },
  },
  {
    name: 'truncated inside a section',
    reader: 'inspect',
    make: () => variant('cut-section.litertlm', BUNDLE, (b) => b.subarray(0, 300_000)),
    expect: { code: 'truncated_file', message: /section 0 \(HF_Tokenizer_Zlib\) ends at byte 609288 but the file has 300000 bytes/ },
  },
  {
    name: 'section offsets past the end',
    reader: 'inspect',
    make: () =>
      variant('offsets-past-end.litertlm', BUNDLE, (b) => {
        setU64(b, u64At(b, 609288), 1_000_000_000_016n);
        setU64(b, u64At(b, 16384), 1_000_000_000_000n);
      }),
    expect: { code: 'offset_out_of_range', message: /section 0 \(HF_Tokenizer_Zlib\) starts at byte 1000000000000, past the end of the file/ },
  },
  {
    name: 'section ending before it begins',
    reader: 'inspect',
    make: () => variant('backwards.litertlm', BUNDLE, (b) => setU64(b, u64At(b, 609288), 16000n)),
    expect: { code: 'corrupt_file', message: /section 0 \(HF_Tokenizer_Zlib\) ends \(16000\) before it begins \(16384\)/ },
  },
  {
    name: 'bad zlib stream (summary keeps the header)',
    reader: 'inspect',
    make: () => variant('bad-zlib.litertlm', BUNDLE, (b) => void b.set(garbage(4000, 3), 16384 + 8 + 2000)),
    expect: { sectionError: { index: 0, code: 'bad_zlib', message: /does not inflate/ } },
  },
  {
    name: 'bad zlib stream (tokenizer helper)',
    reader: 'bundleTokenizer',
    make: () => variant('bad-zlib2.litertlm', BUNDLE, (b) => void b.set(garbage(4000, 3), 16384 + 8 + 2000)),
    expect: { code: 'bad_zlib', message: /HF tokenizer in section 0 of .* does not inflate/ },
  },
  {
    name: 'zlib length prefix disagreeing with the stream',
    reader: 'bundleTokenizer',
    make: () => variant('bad-prefix.litertlm', BUNDLE, (b) => setU64(b, 16384, 2_104_000n)),
    expect: { code: 'bad_zlib', message: /does not inflate|inflates to/ },
  },
  {
    name: 'absurd inflated length',
    reader: 'bundleTokenizer',
    make: () => variant('absurd-prefix.litertlm', BUNDLE, (b) => setU64(b, 16384, 1n << 50n)),
    expect: { code: 'bad_zlib', message: /declares 1125899906842624 inflated bytes/ },
  },
  {
    name: 'garbage LlmMetadata section',
    reader: 'inspect',
    make: () => bundleWithSection('garbage-metadata.litertlm', 5, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])),
    expect: { sectionError: { index: 0, code: 'corrupt_file', message: /LlmMetadata in section 0 .* is not a valid protocol buffer/ } },
  },
  {
    name: 'garbage LlmMetadata (metadata helper)',
    reader: 'bundleMetadata',
    make: () => bundleWithSection('garbage-metadata2.litertlm', 5, new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0x0f, 1, 2])),
    expect: { code: 'corrupt_file', message: /not a valid protocol buffer/ },
  },
  {
    name: 'TFLiteModel section that is not a TFLite model',
    reader: 'inspect',
    make: () => bundleWithSection('not-tflite-section.litertlm', 3, garbage(5000)),
    expect: { sectionError: { index: 0, code: 'bad_magic', message: /the model at offset 16384 of .* is not a TFLite model/ } },
  },
  {
    name: 'SP_Tokenizer section that is not SentencePiece',
    reader: 'inspect',
    make: () => bundleWithSection('not-sp.litertlm', 4, new TextEncoder().encode('{"model": {"type": "BPE"}}')),
    expect: { sectionError: { index: 0, code: 'corrupt_file', message: /SentencePiece tokenizer in section 0 .* is not a valid model/ } },
  },

  {
    name: 'overlapping sections (read, with a warning)',
    reader: 'inspect',
    make: async () => {
      const file = path.join(dir, 'overlap.litertlm');
      await writeLitertlm(file, {
        systemMetadata: [],
        sections: [
          { dataType: 1, payload: { kind: 'bytes', bytes: garbage(20000, 5) } },
          { dataType: 1, payload: { kind: 'bytes', bytes: garbage(20000, 6) } },
        ],
      });
      return variant('overlap2.litertlm', file, (b) => setU64(b, u64At(b, 49152, 32, 16384), 32768n));
    },
    expect: {
      reads: (s) => {
        expect(s.format === 'litertlm' && s.warnings.join('\n')).toMatch(/Sections 0 and 1 overlap \(\[16384, 36384\) and \[32768, 69152\)\)/);
      },
    },
  },

  // ---- .tflite
  { name: 'tflite of 6 bytes', reader: 'tflite', make: () => variant('tiny.tflite', TFLITE, (b) => b.subarray(0, 6)), expect: { code: 'truncated_file', message: /only 6 bytes long/ } },
  {
    name: 'tflite with the wrong identifier (detected)',
    reader: 'inspect',
    make: () => variant('ident.tflite', TFLITE, (b) => void (b[4] = 0x58)),
    expect: { code: 'unknown_format', message: /neither a \.litertlm bundle nor a \.tflite model/ },
  },
  {
    name: 'tflite with the wrong identifier (read as tflite)',
    reader: 'tflite',
    make: () => variant('ident2.tflite', TFLITE, (b) => void (b[4] = 0x58)),
    expect: { code: 'bad_magic', message: /file identifier "XFL3", expected "TFL3"/ },
  },
  {
    name: 'truncated tflite',
    reader: 'inspect',
    make: () => variant('cut.tflite', TFLITE, (b) => b.subarray(0, 3000)),
    expect: { code: 'truncated_file', message: /is truncated: its flatbuffer refers to byte \d+ but the model has 3000 bytes/ },
  },
  {
    name: 'garbage flatbuffer with a TFL3 identifier',
    reader: 'inspect',
    make: () =>
      variant('garbage.tflite', TFLITE, (b) => {
        b.set(garbage(b.byteLength - 8, 11), 8);
        b.set([0x10, 0, 0, 0], 0);
      }),
    expect: { code: 'corrupt_file', message: /is not a valid TFLite model/ },
  },
  {
    name: 'tflite root offset past the end',
    reader: 'inspect',
    make: () => variant('root.tflite', TFLITE, (b) => void b.set([0, 0xff, 0xff, 0x7f], 0)),
    expect: { code: 'corrupt_file', message: /root table points outside the file/ },
  },

  // ---- HF folders
  {
    name: 'folder with a broken config.json',
    reader: 'inspect',
    make: async () => {
      const folder = path.join(dir, 'broken-config');
      await mkdir(folder);
      await writeFile(path.join(folder, 'config.json'), '{"architectures": [');
      return folder;
    },
    expect: { code: 'bad_json', message: /config\.json in .* is not valid JSON/ },
  },
  {
    name: 'folder without model files',
    reader: 'inspect',
    make: async () => {
      const folder = path.join(dir, 'photos');
      await mkdir(folder);
      await copyFile(TFLITE, path.join(folder, 'not-a-model.bin'));
      return folder;
    },
    expect: { code: 'unknown_format', message: /folder without config\.json, tokenizer\.json or tokenizer_config\.json/ },
  },
];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'readers-table-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('format readers: real and broken files', () => {
  it.each(rows)('$name', async (row) => {
    const file = await row.make();
    const outcome = await readers[row.reader]!(file).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    if ('code' in row.expect) {
      expect(outcome.ok, 'expected an error').toBe(false);
      if (outcome.ok) return;
      expect(outcome.error).toBeInstanceOf(WorkbenchError);
      expect((outcome.error as WorkbenchError).code).toBe(row.expect.code);
      expect((outcome.error as WorkbenchError).message).toMatch(row.expect.message);
      return;
    }
    if (!outcome.ok) throw outcome.error;
    const summary = InspectionSummary.parse(outcome.value);
    if ('reads' in row.expect) {
      row.expect.reads(summary);
      return;
    }
    expect(summary.format).toBe('litertlm');
    if (summary.format !== 'litertlm') return;
    const { index, code, message } = row.expect.sectionError;
    const content = summary.sections[index]?.content;
    expect(content).toMatchObject({ kind: 'error', code });
    expect(content?.kind === 'error' && content.message).toMatch(message);
    expect(summary.warnings.join('\n')).toMatch(message);
  });
});
