/**
 * Worker threads for the native converter's arithmetic: each weight chunk's
 * rows are split into contiguous ranges, one per worker, over shared memory
 * (process/rowWorkers.ts), so decoding and quantizing use every core while
 * the converter's own thread reads and writes. Without the built worker
 * script (tests running from source) or with one core, chunks are encoded on
 * the calling thread.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { workerScriptPath } from '../paths.js';
import { RowWorkers } from '../process/rowWorkers.js';
import { encodeRows, type EncodeRowsTask } from './encodeRows.js';

export const ENCODE_WORKER_NAME = 'encode-rows';

/** Below this many values per part a split costs more than it saves. */
const MIN_VALUES_PER_PART = 256 * 1024;

type ChunkTask = Omit<EncodeRowsTask, 'rowStart' | 'rowEnd'>;

export class EncodePool {
  private constructor(private readonly workers: RowWorkers<ChunkTask> | null) {}

  /** threads 0 = one per available core; a pool of none encodes on the calling thread. */
  static start(threads = 0, script = workerScriptPath(ENCODE_WORKER_NAME)): EncodePool {
    const count = threads > 0 ? threads : os.availableParallelism();
    if (count < 2 || !existsSync(script)) return new EncodePool(null);
    const workers = Array.from({ length: count }, () => new Worker(script));
    return new EncodePool(new RowWorkers(workers, { failedCode: 'convert_worker_failed', what: 'conversion worker', stopped: 'The conversion was stopped.' }));
  }

  /** Whether chunks must live in shared memory (they do when workers encode them). */
  get shared(): boolean {
    return this.workers !== null;
  }

  /** Encodes all rows of a chunk (`rows` rows from `chunkRow`). */
  async encode(task: ChunkTask, rows: number): Promise<void> {
    const parts = Math.floor((rows * task.rowLength) / MIN_VALUES_PER_PART);
    if (!this.workers || parts <= 1) encodeRows({ ...task, rowStart: 0, rowEnd: rows });
    else await this.workers.run(task, rows, parts);
  }

  async close(): Promise<void> {
    await this.workers?.close();
  }
}
