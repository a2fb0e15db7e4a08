/**
 * The native .litertlm writer: streams each section's payload into place and
 * writes the preamble and header last, following the layout rules in
 * FORMATS.md (magic, version 1.x, header-end u64 at 24, header flatbuffer at
 * 32, every section starting on a 16 KiB boundary and zero-padded to the next
 * one, the last one too). Memory use is one read chunk regardless of the
 * model size: payloads are copied (or deflated) chunk by chunk.
 *
 * The output folder is created if missing. The output is written to a
 * temporary file beside the target and renamed
 * into place only when complete and verified, so a failed or cancelled run
 * never leaves a half-written bundle, nor destroys an existing one.
 */
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createDeflate } from 'node:zlib';
import { WorkbenchError } from '../../common/errors.js';
import { makeDirectories } from '../files/folders.js';
import { LITERTLM_BLOCK_SIZE, LITERTLM_MAGIC, LITERTLM_PREAMBLE_BYTES, readLitertlmHeader } from '../formats/litertlm.js';
import type { LitertlmHeader } from '../formats/litertlm.js';
import { buildLitertlmHeader } from './header.js';
import type { HeaderEntry } from './header.js';
import { siblingPath } from '../files/fileName.js';

/**
 * The format version written. 1.1 is the last version whose readers and
 * writers agree on every header encoding we emit (strings only), and every
 * runtime checks only the major version.
 */
export const WRITTEN_VERSION = { major: 1, minor: 1, patch: 0 } as const;

export type SectionPayload =
  /** Bytes of a file (or a range of it), copied as they are. */
  | { kind: 'file'; path: string; start?: number; end?: number }
  /** A file stored as HF_Tokenizer_Zlib wants it: u64 little-endian length, then a zlib stream. */
  | { kind: 'zlib-file'; path: string }
  /** Small payloads built in memory (LlmMetadata). */
  | { kind: 'bytes'; bytes: Uint8Array };

export interface SectionInput {
  dataType: number;
  items?: HeaderEntry[];
  payload: SectionPayload;
}

export interface WriteProgress {
  /**
   * Input bytes read so far over all sections, counted as they are read. A
   * compressed section's input is its uncompressed file, so these are input
   * figures (say so when showing them), not the bundle's bytes.
   */
  doneBytes: number;
  totalBytes: number;
  section: number;
}

export interface WriteOptions {
  systemMetadata: HeaderEntry[];
  sections: SectionInput[];
  onProgress?: (progress: WriteProgress) => void;
  signal?: AbortSignal;
}

export interface WrittenBundle {
  path: string;
  sizeBytes: number;
  header: LitertlmHeader;
}

const ZEROS = new Uint8Array(LITERTLM_BLOCK_SIZE);

export function roundUpToBlock(offset: number): number {
  return Math.ceil(offset / LITERTLM_BLOCK_SIZE) * LITERTLM_BLOCK_SIZE;
}

/**
 * The temporary sibling a bundle is written under: the writing process's pid
 * and the time it started, so start-up recovery can tell which one a dead
 * stage owned.
 */
export function partialBundlePath(outPath: string, pid: number, startedAt: number): string {
  return siblingPath(outPath, `.partial-${pid}-${startedAt}`, '.');
}

export async function writeLitertlm(outPath: string, options: WriteOptions): Promise<WrittenBundle> {
  const { systemMetadata, sections, onProgress, signal } = options;
  if (sections.length === 0) throw new WorkbenchError('bad_package_input', 'A .litertlm bundle needs at least one section.');
  const inputSizes = await Promise.all(sections.map((s) => payloadInputSize(s.payload)));
  const totalBytes = inputSizes.reduce((a, b) => a + b, 0);

  // Size the header with placeholder offsets; forced defaults keep its size fixed.
  const placeholder = buildLitertlmHeader(
    systemMetadata,
    sections.map((s) => ({ dataType: s.dataType, items: s.items ?? [], beginOffset: 0, endOffset: 0 })),
  );
  const firstOffset = roundUpToBlock(LITERTLM_PREAMBLE_BYTES + placeholder.byteLength);

  createOutputFolder(outPath);
  const tmpPath = partialBundlePath(outPath, process.pid, Date.now());
  let handle: FileHandle | undefined;
  try {
    handle = await open(tmpPath, 'wx');
    const fh = handle;
    let position = firstOffset;
    let doneBytes = 0;
    const placed: { beginOffset: number; endOffset: number }[] = [];
    for (const [index, section] of sections.entries()) {
      const beginOffset = position;
      const write = async (chunk: Uint8Array, consumed: number): Promise<void> => {
        if (signal?.aborted) throw new WorkbenchError('cancelled', 'Packaging was cancelled.');
        await writeAll(fh, chunk, position);
        position += chunk.byteLength;
        doneBytes += consumed;
        onProgress?.({ doneBytes, totalBytes, section: index });
      };
      const consumed = (bytes: number): void => {
        doneBytes += bytes;
        onProgress?.({ doneBytes, totalBytes, section: index });
      };
      await writePayload(section.payload, write, consumed);
      placed.push({ beginOffset, endOffset: position });
      const padded = roundUpToBlock(position);
      if (padded > position) await writeAll(fh, ZEROS.subarray(0, padded - position), position);
      position = padded;
    }

    const header = buildLitertlmHeader(
      systemMetadata,
      sections.map((s, i) => ({ dataType: s.dataType, items: s.items ?? [], ...placed[i]! })),
    );
    if (header.byteLength !== placeholder.byteLength) {
      throw new Error(`header size changed from ${placeholder.byteLength} to ${header.byteLength} bytes once offsets were filled in`);
    }
    const headerEnd = LITERTLM_PREAMBLE_BYTES + header.byteLength;
    const preamble = new Uint8Array(LITERTLM_PREAMBLE_BYTES);
    const view = new DataView(preamble.buffer);
    preamble.set(new TextEncoder().encode(LITERTLM_MAGIC), 0);
    view.setUint32(8, WRITTEN_VERSION.major, true);
    view.setUint32(12, WRITTEN_VERSION.minor, true);
    view.setUint32(16, WRITTEN_VERSION.patch, true);
    view.setBigUint64(24, BigInt(headerEnd), true);
    await writeAll(fh, preamble, 0);
    await writeAll(fh, header, LITERTLM_PREAMBLE_BYTES);
    if (firstOffset > headerEnd) await writeAll(fh, new Uint8Array(firstOffset - headerEnd), headerEnd);
    await fh.sync();
    await fh.close();
    handle = undefined;

    // Read back what we wrote before it replaces anything.
    const written = readLitertlmHeader(tmpPath);
    placed.forEach((p, i) => {
      const s = written.sections[i];
      if (!s || s.beginOffset !== p.beginOffset || s.endOffset !== p.endOffset) {
        throw new Error(`section ${i} reads back at [${s?.beginOffset}, ${s?.endOffset}) instead of [${p.beginOffset}, ${p.endOffset})`);
      }
    });
    await rename(tmpPath, outPath);
    return { path: outPath, sizeBytes: position, header: { ...written, path: outPath } };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(tmpPath, { force: true });
    if (error instanceof WorkbenchError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') throw new WorkbenchError('disk_full', `The disk holding ${outPath} ran out of space while writing the bundle.`, { path: outPath });
    if (code === 'EACCES' || code === 'EROFS') throw new WorkbenchError('not_writable', `Cannot write ${outPath}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}.`, { path: outPath });
    throw error;
  }
}

/**
 * A missing output folder is created with its parents, level by level
 * (makeDirectories: Node's recursive mkdir never returns under /proc).
 */
function createOutputFolder(outPath: string): void {
  try {
    makeDirectories(path.dirname(outPath));
  } catch (error) {
    if (error instanceof WorkbenchError && error.code === 'not_a_folder') {
      throw new WorkbenchError('not_writable', `Cannot create the folder for ${outPath}: a file stands in its path.`, { path: outPath });
    }
    throw error;
  }
}

async function payloadInputSize(payload: SectionPayload): Promise<number> {
  if (payload.kind === 'bytes') return payload.bytes.byteLength;
  let size: number;
  try {
    size = (await stat(payload.path)).size;
  } catch {
    throw new WorkbenchError('file_not_found', `${payload.path} does not exist.`, { path: payload.path });
  }
  if (payload.kind === 'file' && (payload.start !== undefined || payload.end !== undefined)) {
    const start = payload.start ?? 0;
    const end = payload.end ?? size;
    if (start < 0 || end > size || end < start) {
      throw new WorkbenchError('offset_out_of_range', `Bytes [${start}, ${end}) are outside ${payload.path} (${size} bytes).`, { path: payload.path });
    }
    return end - start;
  }
  return size;
}

/** `write(chunk, n)` writes output and counts n input bytes; `consumed(n)` counts input read ahead of its output (a deflate stream buffers it). */
async function writePayload(payload: SectionPayload, write: (chunk: Uint8Array, consumed: number) => Promise<void>, consumed: (bytes: number) => void): Promise<void> {
  switch (payload.kind) {
    case 'bytes':
      if (payload.bytes.byteLength > 0) await write(payload.bytes, payload.bytes.byteLength);
      return;
    case 'file': {
      const start = payload.start ?? 0;
      if (payload.end !== undefined && payload.end === start) return;
      const stream = createReadStream(payload.path, { start, ...(payload.end !== undefined ? { end: payload.end - 1 } : {}), highWaterMark: 1024 * 1024 });
      for await (const chunk of stream as AsyncIterable<Buffer>) await write(chunk, chunk.byteLength);
      return;
    }
    case 'zlib-file': {
      const size = (await stat(payload.path)).size;
      const prefix = new Uint8Array(8);
      new DataView(prefix.buffer).setBigUint64(0, BigInt(size), true);
      await write(prefix, 0);
      const source = createReadStream(payload.path, { highWaterMark: 1024 * 1024 });
      // Progress follows the input as it is read: deflate emits most of its output only at the end, and
      // counting on output made the figures stall half-way and then jump to 100 %.
      source.on('data', (chunk) => consumed(chunk.length));
      await pipeline(source, createDeflate(), async (deflated: AsyncIterable<Buffer>) => {
        for await (const chunk of deflated) await write(chunk, 0);
      });
      return;
    }
  }
}

async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, written, bytes.byteLength - written, position + written);
    written += bytesWritten;
  }
}
