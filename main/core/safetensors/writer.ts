/**
 * Streaming writer for a sharded safetensors model, the layout Hugging Face's
 * save_pretrained produces: `model.safetensors` when everything fits in one
 * shard, else `model-0000i-of-0000n.safetensors` plus
 * `model.safetensors.index.json` (`metadata.total_size`, sorted `weight_map`).
 *
 * Every tensor's dtype and shape are known before the first byte is written
 * (a merge does not change them), so each shard's header is written up front
 * and data is appended tensor by tensor as it is produced. Shards are written
 * under a `.partial` name and renamed only in finish(), the index last: a crash
 * never leaves files that look like a complete model.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { dtypeBits } from './dtypes.js';
import { INDEX_FILE_NAME, SINGLE_FILE_NAME } from './header.js';
import { Sha256Thread } from './sha256Thread.js';

export interface PlannedTensor {
  name: string;
  dtype: string;
  shape: number[];
  byteLength: number;
}

export interface PlannedShard {
  fileName: string;
  tensors: PlannedTensor[];
  /** Sum of the tensors' bytes (header excluded), as HF counts shard size. */
  dataBytes: number;
}

export interface WrittenFile {
  fileName: string;
  bytes: number;
  sha256: string;
}

/**
 * Splits tensors into shards in the given order, starting a new shard when the
 * next tensor would push the current one past maxShardBytes (a tensor larger
 * than the limit gets a shard of its own), like huggingface_hub's splitter.
 */
export function planShards(tensors: PlannedTensor[], maxShardBytes: number): PlannedShard[] {
  if (!(maxShardBytes > 0)) throw new RangeError('maxShardBytes must be positive');
  const groups: PlannedTensor[][] = [];
  let current: PlannedTensor[] = [];
  let size = 0;
  for (const tensor of tensors) {
    if (current.length > 0 && size + tensor.byteLength > maxShardBytes) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(tensor);
    size += tensor.byteLength;
  }
  if (current.length > 0 || groups.length === 0) groups.push(current);
  const total = groups.length;
  const width = Math.max(5, String(total).length);
  return groups.map((group, i) => ({
    fileName: total === 1 ? SINGLE_FILE_NAME : `model-${String(i + 1).padStart(width, '0')}-of-${String(total).padStart(width, '0')}.safetensors`,
    tensors: group,
    dataBytes: group.reduce((sum, t) => sum + t.byteLength, 0),
  }));
}

/** The header bytes for a shard: length-prefixed JSON padded with spaces so data starts 8-byte aligned. */
export function encodeShardHeader(tensors: PlannedTensor[], metadata: Record<string, string> | null): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    const bits = dtypeBits(tensor.dtype);
    const elements = tensor.shape.reduce((a, b) => a * b, 1);
    if (bits === undefined || (elements * bits) / 8 !== tensor.byteLength) {
      throw new RangeError(`Tensor ${tensor.name}: ${tensor.byteLength} bytes do not match ${tensor.dtype}[${tensor.shape.join(', ')}]`);
    }
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + tensor.byteLength] };
    offset += tensor.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const out = Buffer.alloc(8 + json.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

/** Data written between two fdatasync calls while a shard is open. */
const SYNC_EVERY_BYTES = 128 * 1024 * 1024;

export interface ModelWriterOptions {
  maxShardBytes: number;
  /** `__metadata__` for every shard; `format: pt` is always set. */
  metadata?: Record<string, string> | null;
}

/** Maps file-system failures while writing to stable error codes. */
export function writeFailure(error: unknown, file: string): WorkbenchError {
  if (error instanceof WorkbenchError) return error;
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new WorkbenchError('disk_full', `The disk ran out of space while writing ${file}.`, { path: file, errno });
  }
  if (errno === 'EFBIG') {
    return new WorkbenchError('file_too_large', `The file system or a file-size limit refused to grow ${file}; use a smaller shard size.`, { path: file, errno });
  }
  if (errno === 'EACCES' || errno === 'EPERM' || errno === 'EROFS') {
    return new WorkbenchError('output_not_writable', `Cannot write ${file}: permission denied or read-only file system.`, { path: file, errno });
  }
  return new WorkbenchError('write_failed', `Writing ${file} failed: ${(error as Error).message}`, { path: file, errno });
}

export class SafetensorsModelWriter {
  readonly shards: PlannedShard[];
  private readonly metadata: Record<string, string>;
  /** Every tensor in write order with the shard it belongs to. */
  private readonly order: { shard: number; tensor: PlannedTensor }[];
  /** Index in `order` of the tensor being written; -1 before the first. */
  private cursor = -1;
  private tensorWritten = 0;
  private openShardIndex = -1;
  private position = 0;
  private handle: FileHandle | undefined;
  /** Hashes each shard as it is written, off the main thread. */
  private hasher: Sha256Thread | undefined;
  private unsynced = 0;
  /** The background fdatasync in flight, and the first error one reported. */
  private syncing: Promise<void> | undefined;
  private syncError: unknown;
  private readonly written: WrittenFile[] = [];
  private finished = false;

  private constructor(readonly dir: string, tensors: PlannedTensor[], options: ModelWriterOptions) {
    this.shards = planShards(tensors, options.maxShardBytes);
    this.order = this.shards.flatMap((shard, i) => shard.tensors.map((tensor) => ({ shard: i, tensor })));
    this.metadata = { ...(options.metadata ?? {}), format: 'pt' };
  }

  /** Plans the shards; files are created lazily as data arrives. */
  static create(dir: string, tensors: PlannedTensor[], options: ModelWriterOptions): SafetensorsModelWriter {
    return new SafetensorsModelWriter(dir, tensors, options);
  }

  /** Sum of all tensor bytes (the index's total_size). */
  get totalDataBytes(): number {
    return this.shards.reduce((sum, s) => sum + s.dataBytes, 0);
  }

  /**
   * Appends bytes of tensor `name`, which must be the tensor being written or
   * the next one in plan order; a tensor may arrive in several chunks.
   */
  async write(name: string, chunk: Uint8Array): Promise<void> {
    if (this.finished) throw new Error('SafetensorsModelWriter: write after finish');
    const current = this.order[this.cursor];
    const continuing = current !== undefined && current.tensor.name === name && this.tensorWritten < current.tensor.byteLength;
    if (!continuing) {
      this.checkCurrentComplete();
      const next = this.order[this.cursor + 1];
      if (!next || next.tensor.name !== name) {
        throw new Error(`SafetensorsModelWriter: got tensor ${name}, expected ${next?.tensor.name ?? 'no more tensors'}`);
      }
      this.cursor += 1;
      this.tensorWritten = 0;
      if (next.shard !== this.openShardIndex) {
        await this.closeShard();
        await this.openShard(next.shard);
      }
    }
    const tensor = this.order[this.cursor]!.tensor;
    if (this.tensorWritten + chunk.byteLength > tensor.byteLength) {
      throw new Error(`SafetensorsModelWriter: ${name} receives more than its ${tensor.byteLength} bytes`);
    }
    await this.append(chunk);
    this.tensorWritten += chunk.byteLength;
  }

  /** Closes the last shard, renames every shard into place and writes the index last. */
  async finish(): Promise<WrittenFile[]> {
    this.checkCurrentComplete();
    if (this.cursor !== this.order.length - 1) {
      throw new Error(`SafetensorsModelWriter: finish() before tensor ${this.order[this.cursor + 1]!.tensor.name} was written`);
    }
    if (this.openShardIndex < 0) await this.openShard(0); // a model without tensors still gets a valid file
    await this.closeShard();
    for (const shard of this.shards) {
      const final = path.join(this.dir, shard.fileName);
      await rename(`${final}.partial`, final).catch((error: unknown) => {
        throw writeFailure(error, final);
      });
    }
    if (this.shards.length > 1) {
      const weightMap: Record<string, string> = {};
      for (const { shard, tensor } of this.order) weightMap[tensor.name] = this.shards[shard]!.fileName;
      const sorted = Object.fromEntries(Object.entries(weightMap).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const index = `${JSON.stringify({ metadata: { total_size: this.totalDataBytes }, weight_map: sorted }, null, 2)}\n`;
      const indexPath = path.join(this.dir, INDEX_FILE_NAME);
      try {
        await writeFile(`${indexPath}.partial`, index);
        await rename(`${indexPath}.partial`, indexPath);
      } catch (error) {
        throw writeFailure(error, indexPath);
      }
      this.written.push({ fileName: INDEX_FILE_NAME, bytes: Buffer.byteLength(index), sha256: createHash('sha256').update(index).digest('hex') });
    }
    this.finished = true;
    await this.hasher?.close();
    this.hasher = undefined;
    return [...this.written];
  }

  /** Closes and deletes everything this writer created (partial or renamed). */
  async abort(): Promise<void> {
    await this.syncing;
    await this.hasher?.close();
    this.hasher = undefined;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
    for (const shard of this.shards) {
      const final = path.join(this.dir, shard.fileName);
      await rm(`${final}.partial`, { force: true });
      if (this.finished) await rm(final, { force: true });
    }
    await rm(path.join(this.dir, `${INDEX_FILE_NAME}.partial`), { force: true });
    if (this.finished) await rm(path.join(this.dir, INDEX_FILE_NAME), { force: true });
  }

  private checkCurrentComplete(): void {
    const current = this.order[this.cursor];
    if (current && this.tensorWritten !== current.tensor.byteLength) {
      throw new Error(`SafetensorsModelWriter: ${current.tensor.name} got ${this.tensorWritten} of ${current.tensor.byteLength} bytes`);
    }
  }

  private async openShard(index: number): Promise<void> {
    const shard = this.shards[index]!;
    const file = path.join(this.dir, `${shard.fileName}.partial`);
    try {
      this.handle = await open(file, 'wx');
    } catch (error) {
      throw writeFailure(error, file);
    }
    this.openShardIndex = index;
    this.position = 0;
    this.unsynced = 0;
    this.hasher ??= new Sha256Thread();
    await this.append(encodeShardHeader(shard.tensors, this.metadata));
  }

  private async closeShard(): Promise<void> {
    const shard = this.shards[this.openShardIndex];
    if (!this.handle || !shard) return;
    const file = path.join(this.dir, shard.fileName);
    try {
      await this.syncing;
      if (this.syncError !== undefined) throw this.syncError;
      await this.handle.sync();
      await this.handle.close();
    } catch (error) {
      throw writeFailure(error, file);
    } finally {
      this.handle = undefined;
    }
    this.written.push({ fileName: shard.fileName, bytes: this.position, sha256: await this.hasher!.digest() });
  }

  private async append(bytes: Uint8Array): Promise<void> {
    const handle = this.handle!;
    const hashed = this.hasher!.update(bytes);
    let done = 0;
    try {
      while (done < bytes.byteLength) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done, this.position + done);
        done += bytesWritten;
      }
    } catch (error) {
      await hashed.catch(() => undefined);
      throw writeFailure(error, path.join(this.dir, this.shards[this.openShardIndex]!.fileName));
    }
    // The caller may reuse `bytes` once this returns: wait until the hashing thread has read them.
    await hashed;
    this.position += bytes.byteLength;
    this.unsynced += bytes.byteLength;
    if (this.syncError !== undefined) throw writeFailure(this.syncError, path.join(this.dir, this.shards[this.openShardIndex]!.fileName));
    if (this.unsynced >= SYNC_EVERY_BYTES && !this.syncing) {
      // Flushing in the background while writing goes on spreads the write-back over the
      // merge, instead of one long fsync at the end; at most one flush is in flight.
      this.unsynced = 0;
      this.syncing = handle
        .datasync()
        .catch((error: unknown) => {
          this.syncError ??= error;
        })
        .finally(() => {
          this.syncing = undefined;
        });
    }
  }
}
