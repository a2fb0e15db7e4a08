/**
 * The worker threads running lora-merge.worker.js. One LoRA update is split
 * into contiguous row ranges, one per worker, over shared memory
 * (process/rowWorkers.ts), so the main thread stays free for reading and
 * writing while they compute.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { WorkbenchError } from '../../common/errors.js';
import { workerScriptPath } from '../paths.js';
import { RowWorkers } from '../process/rowWorkers.js';
import type { LoraRowsTask } from './kernel.js';

export const LORA_WORKER_NAME = 'lora-merge';

/** Below this many multiply-adds a split costs more than it saves. */
const MIN_WORK_PER_THREAD = 4_000_000;

export class LoraWorkerPool {
  private constructor(private readonly workers: RowWorkers<Omit<LoraRowsTask, 'rowStart' | 'rowEnd'>>) {}

  /** threads 0 = one per available core. */
  static start(threads: number, script = workerScriptPath(LORA_WORKER_NAME)): LoraWorkerPool {
    if (!existsSync(script)) {
      throw new WorkbenchError('merge_worker_missing', `The merge worker script ${script} is missing; build the app first (npm run build).`, { path: script });
    }
    const count = threads > 0 ? threads : Math.max(1, os.availableParallelism());
    const workers = Array.from({ length: count }, () => new Worker(script));
    return new LoraWorkerPool(new RowWorkers(workers, { failedCode: 'merge_worker_failed', what: 'merge worker', stopped: 'The merge was stopped.' }));
  }

  get size(): number {
    return this.workers.size;
  }

  /** Runs one update over all rows, split across the workers. */
  async apply(task: Omit<LoraRowsTask, 'rowStart' | 'rowEnd'>): Promise<void> {
    const work = task.rows * task.cols * task.rank;
    await this.workers.run(task, task.rows, Math.floor(work / MIN_WORK_PER_THREAD));
  }

  close(): Promise<void> {
    return this.workers.close();
  }
}
