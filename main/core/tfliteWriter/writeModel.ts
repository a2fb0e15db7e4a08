/**
 * Writes a ModelGraph to a .tflite file in bounded memory:
 *   1. serialise the flatbuffer with placeholder buffer offsets to learn its length;
 *   2. place every buffer after it (64-byte aligned, absolute offsets);
 *   3. stream each buffer's bytes to its place, chunk by chunk (weights are
 *      read, converted and written while the previous chunk is on its way);
 *   4. serialise again with the real offsets and the quantization scales the
 *      producers filled in (same length, checked), write it at offset 0;
 *   5. fsync, hash, and rename `<out>.partial` to `<out>`.
 * Memory is the flatbuffer plus the chunks in flight, never the model. On any
 * error or cancel the partial file is removed; an existing output is never
 * overwritten by a failed write.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { WorkbenchError } from '../../common/errors.js';
import type { ModelGraph } from './graph.js';
import { PLACEHOLDER_OFFSET, serializeModel, type BufferPlacement } from './serialize.js';
import { siblingPath } from '../files/fileName.js';

/** XNNPACK and mmap-friendly alignment of every buffer's first byte. */
export const BUFFER_ALIGNMENT = 64;

export interface WriteProgress {
  buffersDone: number;
  buffersTotal: number;
  bytesDone: number;
  bytesTotal: number;
  /** Label of the buffer being written (the source tensor). */
  current: string;
}

export interface WriteModelOptions {
  signal?: AbortSignal;
  onProgress?: (progress: WriteProgress) => void;
}

export interface WrittenModel {
  path: string;
  bytes: number;
  sha256: string;
  headerBytes: number;
}

const align = (n: bigint, to: number): bigint => ((n + BigInt(to - 1)) / BigInt(to)) * BigInt(to);

export function layoutBuffers(graph: ModelGraph, headerBytes: number): { placements: BufferPlacement[]; fileBytes: bigint } {
  const placements: BufferPlacement[] = [];
  let cursor = align(BigInt(headerBytes), BUFFER_ALIGNMENT);
  for (const source of graph.buffers) {
    if (!source) {
      placements.push({ offset: 0n, size: 0n });
      continue;
    }
    const size = BigInt(source.kind === 'inline' ? source.bytes.byteLength : source.byteLength);
    placements.push({ offset: cursor, size });
    cursor = align(cursor + size, BUFFER_ALIGNMENT);
  }
  return { placements, fileBytes: cursor };
}

/** The temporary name a model is written under (start-up recovery derives it the same way). */
export function partialModelPath(outPath: string): string {
  return siblingPath(outPath, '.partial');
}

export async function writeModel(graph: ModelGraph, outPath: string, options: WriteModelOptions = {}): Promise<WrittenModel> {
  const provisional = serializeModel(
    graph,
    graph.buffers.map((s) => ({ offset: s ? PLACEHOLDER_OFFSET : 0n, size: BigInt(s ? (s.kind === 'inline' ? s.bytes.byteLength : s.byteLength) : 0) })),
  );
  const { placements, fileBytes } = layoutBuffers(graph, provisional.byteLength);
  const partial = partialModelPath(outPath);
  const handle = await open(partial, 'w').catch((error: NodeJS.ErrnoException) => {
    throw new WorkbenchError('output_unwritable', `Cannot create ${partial}: ${error.message}`, { path: partial, errno: error.code });
  });
  let closed = false;
  try {
    const bytesTotal = Number(fileBytes);
    let bytesDone = 0;
    let buffersDone = 0;
    const buffersTotal = graph.buffers.filter(Boolean).length;
    for (let index = 0; index < graph.buffers.length; index++) {
      const source = graph.buffers[index];
      if (!source) continue;
      if (options.signal?.aborted) throw new WorkbenchError('cancelled', 'Cancelled by the user.');
      let position = Number(placements[index]!.offset);
      const end = position + Number(placements[index]!.size);
      const label = source.kind === 'inline' ? 'constants' : source.label;
      const write = async (chunk: Uint8Array): Promise<void> => {
        if (position + chunk.byteLength > end) throw new Error(`${label} produced more than its ${end - Number(placements[index]!.offset)} bytes`);
        let written = 0;
        while (written < chunk.byteLength) {
          const { bytesWritten } = await handle.write(chunk, written, chunk.byteLength - written, position + written);
          written += bytesWritten;
        }
        position += chunk.byteLength;
        bytesDone += chunk.byteLength;
        options.onProgress?.({ buffersDone, buffersTotal, bytesDone, bytesTotal, current: label });
        if (options.signal?.aborted) throw new WorkbenchError('cancelled', 'Cancelled by the user.');
      };
      if (source.kind === 'inline') await write(source.bytes);
      else await source.produce(write);
      if (position !== end) throw new Error(`${label} produced ${position - Number(placements[index]!.offset)} bytes, ${end - Number(placements[index]!.offset)} expected`);
      buffersDone++;
    }
    const header = serializeModel(graph, placements);
    if (header.byteLength !== provisional.byteLength) {
      throw new Error(`the final header is ${header.byteLength} bytes, the reserved one ${provisional.byteLength}`);
    }
    await handle.write(header, 0, header.byteLength, 0);
    // The last buffer's alignment padding: the file ends on the layout's end.
    await handle.truncate(bytesTotal);
    await handle.sync();
    await handle.close();
    closed = true;
    const sha256 = await hashFile(partial);
    await rename(partial, outPath);
    return { path: outPath, bytes: bytesTotal, sha256, headerBytes: header.byteLength };
  } catch (error) {
    if (!closed) await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    const errno = (error as NodeJS.ErrnoException).code;
    if (errno === 'ENOSPC') throw new WorkbenchError('disk_full', `The disk holding ${outPath} is full; the partial output was removed.`, { path: outPath });
    throw error;
  }
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
