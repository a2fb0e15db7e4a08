/**
 * SHA-256 of a file being written, computed on its own thread. Hashing costs
 * about as much CPU as the merge's products; off the main thread it overlaps
 * the reads, the writes and the workers instead of stalling them. Chunks in
 * shared memory are hashed in place; others are copied once to the thread.
 * The worker is a few fixed lines evaluated inline, so no build step is
 * needed wherever the writer is used.
 */
import { Worker } from 'node:worker_threads';

const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.type === 'update') {
    hash.update(new Uint8Array(m.buffer, m.offset, m.length));
    parentPort.postMessage({ id: m.id });
  } else {
    parentPort.postMessage({ id: m.id, hex: hash.digest('hex') });
    hash = createHash('sha256');
  }
});
`;

export class Sha256Thread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (hex: string | undefined) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;

  constructor() {
    this.worker = new Worker(SOURCE, { eval: true });
    // A forgotten writer must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (m: { id: number; hex?: string }) => {
      const entry = this.pending.get(m.id);
      this.pending.delete(m.id);
      entry?.resolve(m.hex);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0) this.fail(new Error(`the hashing thread exited (code ${code})`));
    });
  }

  /** Adds bytes to the running hash; resolves once they were read, so the buffer may be reused. */
  update(bytes: Uint8Array): Promise<void> {
    const shared = bytes.buffer instanceof SharedArrayBuffer;
    const message = shared
      ? { type: 'update', buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.byteLength }
      : { type: 'update', buffer: bytes.slice().buffer, offset: 0, length: bytes.byteLength };
    return this.send(message).then(() => undefined);
  }

  /** The hex digest of everything added since the last digest; starts a new hash. */
  async digest(): Promise<string> {
    return (await this.send({ type: 'digest' }))!;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private send(message: Record<string, unknown>): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  private fail(error: Error): void {
    this.failure = error;
    for (const entry of this.pending.values()) entry.reject(error);
    this.pending.clear();
  }
}
