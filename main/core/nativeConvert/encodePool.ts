/**
 * Worker threads for the native converter's arithmetic: each weight chunk's
 * rows are split into contiguous ranges, one per worker, over shared memory,
 * so decoding and quantizing use every core while the converter's own thread
 * reads and writes. Without the built worker script (tests running from
 * source) or with one core, chunks are encoded on the calling thread.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { WorkbenchError } from '../../common/errors.js';
import { workerScriptPath } from '../paths.js';
import { encodeRows, type EncodeRowsTask } from './encodeRows.js';

export const ENCODE_WORKER_NAME = 'encode-rows';

/** Below this many values per part a split costs more than it saves. */
const MIN_VALUES_PER_PART = 256 * 1024;

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class EncodePool {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.unref();
      worker.on('message', (m: { id: number; ok: boolean; code?: string; message?: string; details?: Record<string, unknown> }) => {
        const entry = this.pending.get(m.id);
        if (!entry) return;
        this.pending.delete(m.id);
        if (m.ok) entry.resolve();
        else entry.reject(new WorkbenchError(m.code ?? 'internal', m.message ?? 'A conversion worker failed.', m.details));
      });
      worker.on('error', (error) => this.failAll(new WorkbenchError('convert_worker_failed', `A conversion worker crashed: ${error.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.failAll(new WorkbenchError('convert_worker_failed', `A conversion worker exited unexpectedly (code ${code}).`));
      });
    }
  }

  /** threads 0 = one per available core; a pool of none encodes on the calling thread. */
  static start(threads = 0, script = workerScriptPath(ENCODE_WORKER_NAME)): EncodePool {
    const count = threads > 0 ? threads : os.availableParallelism();
    if (count < 2 || !existsSync(script)) return new EncodePool([]);
    return new EncodePool(Array.from({ length: count }, () => new Worker(script)));
  }

  /** Whether chunks must live in shared memory (they do when workers encode them). */
  get shared(): boolean {
    return this.workers.length > 0;
  }

  /** Encodes all rows of a chunk (`rows` rows from `chunkRow`). */
  async encode(task: Omit<EncodeRowsTask, 'rowStart' | 'rowEnd'>, rows: number): Promise<void> {
    if (this.closed) throw new Error('EncodePool: encode after close');
    const parts = Math.max(1, Math.min(this.workers.length, rows, Math.floor((rows * task.rowLength) / MIN_VALUES_PER_PART)));
    if (this.workers.length === 0 || parts === 1) {
      encodeRows({ ...task, rowStart: 0, rowEnd: rows });
      return;
    }
    const jobs: Promise<void>[] = [];
    for (let part = 0; part < parts; part++) {
      const rowStart = Math.floor((rows * part) / parts);
      const rowEnd = Math.floor((rows * (part + 1)) / parts);
      jobs.push(this.send(this.workers[part]!, { ...task, rowStart, rowEnd }));
    }
    await Promise.all(jobs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new WorkbenchError('cancelled', 'The conversion was stopped.'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private send(worker: Worker, task: EncodeRowsTask): Promise<void> {
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, task });
    });
  }

  private failAll(error: Error): void {
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}
