/**
 * Reading tensor bytes out of safetensors files, one tensor (or one chunk of a
 * tensor) at a time, through file handles kept open for the whole pass. The
 * merge never maps or loads a whole file: memory stays at the size of what is
 * being read.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { WorkbenchError } from '../../common/errors.js';
import type { SafetensorsHeader, TensorEntry } from './header.js';

export class SafetensorsReader {
  private readonly handles = new Map<string, Promise<FileHandle>>();

  /** Reads `length` bytes of a tensor starting `offset` bytes into it. */
  async readRange(file: SafetensorsHeader, entry: TensorEntry, into: Uint8Array, offset = 0, length = entry.byteLength - offset): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.byteLength || into.byteLength < length) {
      throw new RangeError(`readRange(${entry.name}): ${offset}+${length} outside ${entry.byteLength} bytes or buffer of ${into.byteLength}`);
    }
    const handle = await this.handle(file.path);
    const target = into.subarray(0, length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(target, done, length - done, entry.begin + offset + done);
      if (bytesRead === 0) {
        throw new WorkbenchError('safetensors_truncated', `${file.path} ended while reading tensor ${entry.name}: the file changed or was truncated after its header was read.`, { path: file.path, tensor: entry.name });
      }
      done += bytesRead;
    }
    return target;
  }

  /** Reads a whole tensor into a new (or the given) buffer. */
  async readTensor(file: SafetensorsHeader, entry: TensorEntry, into?: Uint8Array): Promise<Uint8Array> {
    return this.readRange(file, entry, into ?? new Uint8Array(entry.byteLength), 0, entry.byteLength);
  }

  async close(): Promise<void> {
    const pending = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(pending.map(async (p) => (await p.catch(() => undefined))?.close()));
  }

  private handle(file: string): Promise<FileHandle> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = open(file, 'r').catch((error: NodeJS.ErrnoException) => {
        this.handles.delete(file);
        throw new WorkbenchError('safetensors_unreadable', `Cannot open ${file}: ${error.message}`, { path: file, errno: error.code });
      });
      this.handles.set(file, handle);
    }
    return handle;
  }
}
