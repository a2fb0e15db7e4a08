/**
 * A fixed set of worker threads that split one task's rows into contiguous
 * ranges, one range per worker, over shared memory, so the calling thread
 * stays free for reading and writing while they compute. Shared by the LoRA
 * merge (merge/workerPool.ts) and the native converter's weight encoding
 * (nativeConvert/encodePool.ts); each says which script runs the rows.
 *
 * A worker answers `{ id, ok }`, or on failure either `{ code, message,
 * details }` (passed on as that WorkbenchError) or `{ error }` (reported as
 * "A <what> failed: <error>" under the pool's failure code).
 */
import { Worker } from 'node:worker_threads';
import { WorkbenchError } from '../../common/errors.js';

export interface RowWorkersNames {
  /** Error code of a crashed or failing worker, e.g. merge_worker_failed. */
  failedCode: string;
  /** What a worker is, for messages: "merge worker". */
  what: string;
  /** The sentence pending tasks are rejected with when the pool closes. */
  stopped: string;
}

interface Reply {
  id: number;
  ok: boolean;
  code?: string;
  message?: string;
  details?: Record<string, unknown>;
  error?: string;
}

export class RowWorkers<Task extends object> {
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly workers: Worker[],
    private readonly names: RowWorkersNames,
  ) {
    for (const worker of workers) {
      worker.on('message', (m: Reply) => {
        const entry = this.pending.get(m.id);
        if (!entry) return;
        this.pending.delete(m.id);
        if (m.ok) entry.resolve();
        else if (m.code) entry.reject(new WorkbenchError(m.code, m.message ?? `A ${names.what} failed.`, m.details));
        else entry.reject(new WorkbenchError(names.failedCode, `A ${names.what} failed: ${m.error ?? 'unknown error'}`));
      });
      worker.on('error', (error) => this.failAll(new WorkbenchError(names.failedCode, `A ${names.what} crashed: ${error.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) this.failAll(new WorkbenchError(names.failedCode, `A ${names.what} exited unexpectedly (code ${code}).`));
      });
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Runs rows [0, rows) as `parts` contiguous ranges (at most one per worker) and waits for all. */
  async run(task: Task, rows: number, parts: number): Promise<void> {
    if (this.closed) throw new Error(`RowWorkers (${this.names.what}): run after close`);
    const count = Math.max(1, Math.min(parts, this.workers.length, rows));
    const jobs: Promise<void>[] = [];
    for (let part = 0; part < count; part++) {
      const rowStart = Math.floor((rows * part) / count);
      const rowEnd = Math.floor((rows * (part + 1)) / count);
      jobs.push(this.send(this.workers[part]!, { ...task, rowStart, rowEnd }));
    }
    await Promise.all(jobs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new WorkbenchError('cancelled', this.names.stopped));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private send(worker: Worker, task: Task & { rowStart: number; rowEnd: number }): Promise<void> {
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
