/**
 * Header read of multi-GB artifacts (issue 7 target: ≤ 50 ms, independent of
 * file size). Generates, in a temporary folder, an LLM-shaped export (28
 * layers, KV cache 4096, six prefill signatures) three ways, all sparse so
 * nothing big is written:
 *   - small.tflite / small.litertlm: tiny weights (the baseline);
 *   - big-external.tflite: 6 GiB of weights after the flatbuffer (the > 2 GB layout);
 *   - big-inline.tflite: a 1.9 GiB weight inside the flatbuffer (the < 2 GB layout);
 *   - big.litertlm: LlmMetadata + the real fixture HF tokenizer + big-external.tflite.
 * For each it times (median of 15 after a warm-up, page cache warm):
 *   - header read: .litertlm preamble + header + the embedded .tflite summary
 *     (signatures, tensors, ops, KV cache, quantization), or the .tflite summary;
 *   - full inspect: `inspectPath`, which also inflates and summarises the
 *     tokenizer and decodes the LlmMetadata (size-independent work).
 * Prints the figures and the big/small ratios; exits 1 when a header read of a
 * big file takes more than 50 ms or more than 3× the small one.
 *
 * Built to dist/bench/inspect.js by `npm run build`; run with `npm run bench -- inspect`.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { formatBytes } from '../main/common/format.js';
import { inspectPath } from '../main/core/formats/detect.js';
import { readLitertlmHeader, SectionType } from '../main/core/formats/litertlm.js';
import { encodeLlmMetadata } from '../main/core/formats/llmMetadata.js';
import { readTfliteAt } from '../main/core/formats/tflite.js';
import { buildLitertlmHeader } from '../main/core/packager/header.js';
import { roundUpToBlock, WRITTEN_VERSION } from '../main/core/packager/writer.js';
import { writeSyntheticTflite } from '../test/support/syntheticTflite.js';
import type { SyntheticTfliteOptions } from '../test/support/syntheticTflite.js';

const TOKENIZER = '/work/shared/fixtures/litertlm/tokenizer.json';
const RUNS = 15;
const TARGET_MS = 50;

const LLM: SyntheticTfliteOptions = { layers: 28, kvCacheMaxLen: 4096, prefillLengths: [8, 64, 128, 256, 512, 1024], weightTensors: 196, vocab: 151936 };

/** A .litertlm around an existing .tflite, composed sparsely (the .tflite's flatbuffer bytes are copied, the rest is a hole). */
async function sparseBundle(out: string, tflite: string, flatbufferBytes: number): Promise<void> {
  const metadata = encodeLlmMetadata({ stopTokens: [{ tokenIds: { ids: [2] } }], maxNumTokens: 4096, samplerParams: { type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 }, llmModelType: { qwen2p5: {} } });
  const json = readFileSync(TOKENIZER);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.byteLength));
  const tokenizer = Buffer.concat([prefix, deflateSync(json)]);
  const tfliteSize = statSync(tflite).size;
  const payloads = [
    { dataType: SectionType.LlmMetadataProto, items: [], size: metadata.byteLength },
    { dataType: SectionType.HF_Tokenizer_Zlib, items: [], size: tokenizer.byteLength },
    { dataType: SectionType.TFLiteModel, items: [{ key: 'model_type', value: 'tf_lite_prefill_decode' }], size: tfliteSize },
  ];
  const system = [{ key: 'generator', value: 'bench/inspect' }];
  const sizing = buildLitertlmHeader(system, payloads.map((p) => ({ ...p, beginOffset: 0, endOffset: 0 })));
  let offset = roundUpToBlock(32 + sizing.byteLength);
  const placed = payloads.map((p) => {
    const beginOffset = offset;
    offset = roundUpToBlock(beginOffset + p.size);
    return { ...p, beginOffset, endOffset: beginOffset + p.size };
  });
  const header = buildLitertlmHeader(system, placed);
  const preamble = Buffer.alloc(32);
  preamble.write('LITERTLM', 0, 'ascii');
  preamble.writeUInt32LE(WRITTEN_VERSION.major, 8);
  preamble.writeUInt32LE(WRITTEN_VERSION.minor, 12);
  preamble.writeUInt32LE(WRITTEN_VERSION.patch, 16);
  preamble.writeBigUInt64LE(BigInt(32 + header.byteLength), 24);
  const model = Buffer.alloc(flatbufferBytes);
  const src = openSync(tflite, 'r');
  try {
    readSync(src, model, 0, flatbufferBytes, 0);
  } finally {
    closeSync(src);
  }
  const handle = await open(out, 'w');
  try {
    await handle.write(preamble, 0, 32, 0);
    await handle.write(header, 0, header.byteLength, 32);
    await handle.write(metadata, 0, metadata.byteLength, placed[0]!.beginOffset);
    await handle.write(tokenizer, 0, tokenizer.byteLength, placed[1]!.beginOffset);
    await handle.write(model, 0, model.byteLength, placed[2]!.beginOffset);
    await handle.truncate(offset);
  } finally {
    await handle.close();
  }
}

/** The header read: preamble + header, and every embedded .tflite summarised in place; or a .tflite summary. */
function headerRead(file: string): void {
  if (file.endsWith('.tflite')) {
    const fd = openSync(file, 'r');
    try {
      readTfliteAt(fd, file, 0, statSync(file).size);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const header = readLitertlmHeader(file);
  const fd = openSync(file, 'r');
  try {
    for (const s of header.sections) if (s.dataType === SectionType.TFLiteModel) readTfliteAt(fd, file, s.beginOffset, s.endOffset - s.beginOffset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Median times of `fn` over every file, measured in interleaved rounds (each
 * round times every file once) so load from other processes hits all files
 * alike; one warm-up round first.
 */
async function medians(files: string[], fn: (file: string) => unknown): Promise<number[]> {
  const times = files.map(() => [] as number[]);
  for (let round = 0; round <= RUNS; round++) {
    for (const [i, file] of files.entries()) {
      const t = performance.now();
      await fn(file);
      if (round > 0) times[i]!.push(performance.now() - t);
    }
  }
  return times.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]!);
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-inspect-'));
let failed = false;
try {
  const small = path.join(dir, 'small.tflite');
  const external = path.join(dir, 'big-external.tflite');
  const inline = path.join(dir, 'big-inline.tflite');
  const smallWritten = await writeSyntheticTflite(small, LLM);
  const externalWritten = await writeSyntheticTflite(external, { ...LLM, externalWeightBytes: 6 * 1024 ** 3 });
  await writeSyntheticTflite(inline, { ...LLM, inlineTailBytes: Math.floor(1.9 * 1024 ** 3) });
  const smallBundle = path.join(dir, 'small.litertlm');
  const bigBundle = path.join(dir, 'big.litertlm');
  await sparseBundle(smallBundle, small, smallWritten.flatbufferBytes);
  await sparseBundle(bigBundle, external, Math.ceil(externalWritten.flatbufferBytes / 16) * 16);

  const files = [small, inline, external, smallBundle, bigBundle];
  const header = await medians(files, headerRead);
  const full = await medians(files, inspectPath);
  const rows = files.map((file, i) => ({ name: path.basename(file), size: statSync(file).size, header: header[i]!, full: full[i]! }));
  const check = await inspectPath(bigBundle);
  if (check.format !== 'litertlm' || check.sections[2]?.content.kind !== 'tflite' || check.sections[2].content.tflite.derived.kvCacheMaxLen !== 4096) {
    throw new Error('the big bundle did not read back as expected');
  }

  console.log(`header read = preamble + header + embedded .tflite summary; full = inspectPath (adds tokenizer inflate/summary, metadata decode). Median of ${RUNS} interleaved rounds, warm page cache, load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs.`);
  console.log(`${'file'.padEnd(22)} ${'size'.padStart(10)} ${'header read'.padStart(12)} ${'full inspect'.padStart(13)}`);
  for (const r of rows) console.log(`${r.name.padEnd(22)} ${formatBytes(r.size).padStart(10)} ${`${r.header.toFixed(2)} ms`.padStart(12)} ${`${r.full.toFixed(2)} ms`.padStart(13)}`);
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  const pairs: [string, string][] = [
    ['big-inline.tflite', 'small.tflite'],
    ['big-external.tflite', 'small.tflite'],
    ['big.litertlm', 'small.litertlm'],
  ];
  for (const [big, base] of pairs) {
    const b = byName[big]!;
    const s = byName[base]!;
    const ratio = b.header / s.header;
    const ok = b.header <= TARGET_MS && ratio <= 3;
    if (!ok) failed = true;
    console.log(
      `${big} vs ${base}: ${formatBytes(b.size)} / ${formatBytes(s.size)} = ${(b.size / s.size).toFixed(0)}× the bytes; header read ${b.header.toFixed(2)} / ${s.header.toFixed(2)} ms = ${ratio.toFixed(2)}× ` +
        `(full inspect ${(b.full / s.full).toFixed(2)}×) — ${ok ? 'PASS' : 'FAIL'} (target ≤ ${TARGET_MS} ms, independent of size)`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
