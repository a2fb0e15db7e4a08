/**
 * Worker thread of the native converter: encodes its share of a weight
 * chunk's rows over shared memory (encodeRows.ts) and answers with its id, or
 * with the error's code and sentence (a NaN weight names the tensor and row).
 * Built to dist/workers/encode-rows.worker.js (scripts/build.mjs).
 */
import { parentPort } from 'node:worker_threads';
import { WorkbenchError } from '../../common/errors.js';
import { encodeRows, type EncodeRowsTask } from './encodeRows.js';

if (!parentPort) throw new Error('encode-rows.worker must run as a worker thread');
const port = parentPort;

port.on('message', (message: { id: number; task: EncodeRowsTask }) => {
  try {
    encodeRows(message.task);
    port.postMessage({ id: message.id, ok: true });
  } catch (error) {
    const code = error instanceof WorkbenchError ? error.code : 'internal';
    const details = error instanceof WorkbenchError ? error.details : undefined;
    port.postMessage({ id: message.id, ok: false, code, message: error instanceof Error ? error.message : String(error), details });
  }
});
