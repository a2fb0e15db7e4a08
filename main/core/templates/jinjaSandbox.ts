/**
 * Jinja rendering with a deadline and a memory ceiling. Chat templates come
 * from the user's model folder or bundle, and a template can loop forever or
 * build an array until V8 dies (`{% for i in range(1000000000) %}`): rendered
 * on the caller's thread that was a fatal "heap out of memory" for the CLI
 * and for the serve process. Every parse and render of a user's template in
 * the engine goes through here (the fidelity analyzer, the packager's
 * metadata derivation and fix, the chat host's prompt preview).
 *
 * The work runs on one worker thread with its own V8 heap
 * (`resourceLimits`), so an out-of-memory template ends that thread, never
 * the process. Callers are synchronous (a renderer is a plain function), so
 * the caller's thread waits on shared memory for the answer with a deadline
 * (the pattern of `synckit`: post, `Atomics.wait`, `receiveMessageOnPort`);
 * past the deadline the thread is terminated and the next call starts a new
 * one. A source that once exceeded a limit is refused at once afterwards, so
 * an analysis that renders it thirty times waits once.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/** Wall-clock budget of one parse or render: legitimate chat templates take milliseconds (the Qwen3 template with tools and 40 messages: 9 ms here, parse included), so 2 s is a wide margin even on a busy machine, and a user whose template loops waits 2 s, not more. */
export const TEMPLATE_DEADLINE_MS = 2_000;
/** Heap of the rendering thread. */
export const TEMPLATE_HEAP_MIB = 256;
/** Longest rendered text accepted (characters): far above any prompt a context holds. */
export const TEMPLATE_MAX_OUTPUT_CHARS = 8 * 1024 * 1024;
/** How long a new rendering thread may take to start on a busy machine. */
const START_LIMIT_MS = 120_000;

export type TemplateOutcome =
  | { ok: true; text: string }
  /** parse: not Jinja; render: the template raised; limit: over the deadline, the heap or the output size. */
  | { ok: false; stage: 'parse' | 'render' | 'limit'; message: string };

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { Template } = require(workerData.jinja);
const { port, signal, maxChars } = workerData;
const compiled = new Map();
function compile(source) {
  let template = compiled.get(source);
  if (!template) {
    template = new Template(source);
    if (compiled.size > 16) compiled.clear();
    compiled.set(source, template);
  }
  return template;
}
port.on('message', (job) => {
  let answer;
  try {
    const template = compile(job.source);
    if (job.kind === 'parse') answer = { ok: true, text: '' };
    else {
      try {
        const text = template.render(job.context);
        answer = text.length > maxChars
          ? { ok: false, stage: 'limit', message: 'it renders ' + text.length + ' characters, more than the ' + maxChars + ' allowed' }
          : { ok: true, text };
      } catch (error) {
        answer = { ok: false, stage: error instanceof RangeError ? 'limit' : 'render', message: String(error && error.message || error) };
      }
    }
  } catch (error) {
    answer = { ok: false, stage: 'parse', message: String(error && error.message || error) };
  }
  port.postMessage(answer);
  Atomics.store(signal, 0, 2);
  Atomics.notify(signal, 0);
});
Atomics.store(signal, 0, 1);
Atomics.notify(signal, 0);
`;

/** 0 = working, 1 = ready (thread started), 2 = answer posted. */
const WORKING = 0;
const READY = 1;

interface Thread {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

let thread: Thread | null = null;
/** Sources that exceeded a limit, by hash: refused at once from then on. */
const overLimit = new Map<string, string>();

function startThread(): Thread {
  const signal = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const jinja = createRequire(import.meta.url).resolve('@huggingface/jinja');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    name: 'jinja-sandbox',
    workerData: { jinja, port: port2, signal, maxChars: TEMPLATE_MAX_OUTPUT_CHARS },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: TEMPLATE_HEAP_MIB, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
  });
  // An idle sandbox must not keep the CLI alive; its death (out of memory) is seen as a missed deadline.
  worker.unref();
  worker.on('error', () => undefined);
  port1.unref();
  if (Atomics.wait(signal, 0, WORKING, START_LIMIT_MS) === 'timed-out' && Atomics.load(signal, 0) !== READY) {
    void worker.terminate();
    throw new Error(`the template rendering thread did not start within ${START_LIMIT_MS / 1000} s`);
  }
  return { worker, port: port1, signal };
}

function stopThread(): void {
  if (!thread) return;
  void thread.worker.terminate();
  thread.port.close();
  thread = null;
}

function limitMessage(): string {
  return `it did not finish within ${TEMPLATE_DEADLINE_MS / 1000} s and ${TEMPLATE_HEAP_MIB} MiB of memory (a loop that runs too long or builds too much)`;
}

function run(job: { kind: 'parse' | 'render'; source: string; context?: object }): TemplateOutcome {
  const key = createHash('sha256').update(job.source).digest('hex');
  const known = overLimit.get(key);
  if (known) return { ok: false, stage: 'limit', message: known };
  thread ??= startThread();
  const current = thread;
  Atomics.store(current.signal, 0, WORKING);
  try {
    current.port.postMessage(job);
  } catch (error) {
    // A context that cannot be cloned is the caller's bug, not the template's.
    throw new Error(`template job could not be posted: ${(error as Error).message}`);
  }
  const waited = Atomics.wait(current.signal, 0, WORKING, TEMPLATE_DEADLINE_MS);
  const received = receiveMessageOnPort(current.port);
  if (waited === 'timed-out' && !received) {
    stopThread();
    const message = limitMessage();
    overLimit.set(key, message);
    return { ok: false, stage: 'limit', message };
  }
  const answer = (received?.message ?? { ok: false, stage: 'limit', message: limitMessage() }) as TemplateOutcome;
  if (!answer.ok && answer.stage === 'limit') overLimit.set(key, answer.message);
  return answer;
}

/** Whether a template parses (the message says why not). */
export function parseJinja(source: string): TemplateOutcome {
  return run({ kind: 'parse', source });
}

/** Renders a template on the sandbox thread; the context must be plain data (structured-cloneable). */
export function renderJinja(source: string, context: object): TemplateOutcome {
  return run({ kind: 'render', source, context });
}
