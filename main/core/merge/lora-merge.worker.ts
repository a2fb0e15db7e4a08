/**
 * Worker thread for the merge's matrix products: receives a LoraRowsTask over
 * shared memory, updates its rows of the weight in place, answers with its id.
 * Built to dist/workers/lora-merge.worker.js (scripts/build.mjs).
 */
import { parentPort } from 'node:worker_threads';
import { applyLoraRows, type LoraRowsTask } from './kernel.js';

if (!parentPort) throw new Error('lora-merge.worker must run as a worker thread');
const port = parentPort;

port.on('message', (message: { id: number; task: LoraRowsTask }) => {
  try {
    applyLoraRows(message.task);
    port.postMessage({ id: message.id, ok: true });
  } catch (error) {
    port.postMessage({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
