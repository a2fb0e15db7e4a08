/**
 * A fixed set of worker threads running lora-merge.worker.js. One LoRA update
 * is split into contiguous row ranges, one per worker, over shared memory, so
 * the main thread stays free for reading and writing while they compute.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { WorkbenchError } from '../../common/errors.js';
import { workerScriptPath } from '../paths.js';
import type { LoraRowsTask } from './kernel.js';

export const LORA_WORKER_NAME = 'lora-merge';

/** Below this many multiply-adds a split costs more than it saves. */
const MIN_WORK_PER_THREAD = 4_000_000;

interface Pending {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class LoraWorkerPool {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly workers: Worker[]) {
    for (const worker of workers) {
      worker.on('message', (message: { id: number; ok: boolean; error?: string }) => {
        const entry = this.pending.get(message.id);
        if (!entry) return;
        this.pending.delete(message.id);
        if (message.ok) entry.resolve();
        else entry.reject(new WorkbenchError('merge_worker_failed', `A merge worker failed: ${message.error ?? 'unknown error'}`));
      });
      worker.on('error', (error) => this.failAll(new WorkbenchError('merge_worker_failed', `A merge worker crashed: ${error.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.failAll(new WorkbenchError('merge_worker_failed', `A merge worker exited unexpectedly (code ${code}).`));
      });
    }
  }

  /** threads 0 = one per available core. */
  static start(threads: number, script = workerScriptPath(LORA_WORKER_NAME)): LoraWorkerPool {
    if (!existsSync(script)) {
      throw new WorkbenchError('merge_worker_missing', `The merge worker script ${script} is missing; build the app first (npm run build).`, { path: script });
    }
    const count = threads > 0 ? threads : Math.max(1, os.availableParallelism());
    return new LoraWorkerPool(Array.from({ length: count }, () => new Worker(script)));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Runs one update over all rows, split across the workers. */
  async apply(task: Omit<LoraRowsTask, 'rowStart' | 'rowEnd'>): Promise<void> {
    if (this.closed) throw new Error('LoraWorkerPool: apply after close');
    const work = task.rows * task.cols * task.rank;
    const parts = Math.max(1, Math.min(this.workers.length, task.rows, Math.floor(work / MIN_WORK_PER_THREAD)));
    const jobs: Promise<void>[] = [];
    for (let part = 0; part < parts; part++) {
      const rowStart = Math.floor((task.rows * part) / parts);
      const rowEnd = Math.floor((task.rows * (part + 1)) / parts);
      jobs.push(this.send(this.workers[part]!, { ...task, rowStart, rowEnd }));
    }
    await Promise.all(jobs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new WorkbenchError('cancelled', 'The merge was stopped.'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private send(worker: Worker, task: LoraRowsTask): Promise<void> {
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
