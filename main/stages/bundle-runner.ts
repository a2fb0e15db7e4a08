/**
 * The engine's child process: LiteRT-LM's own engine (`@litert-lm/core`,
 * wasm, CPU backend) running one bundle for many requests. It reads requests
 * from stdin and writes events to stdout, one JSON object per line
 * (main/core/bundleRunner/protocol.ts). When the engine aborts (Aborted(), a
 * wasm out-of-memory) the module is dead: the child reports the error with
 * `fatal` and exits; the host starts a new child for the next request. The
 * host (main/core/bundleRunner/host.ts) turns all of this into chat results.
 */
import { openAsBlob } from 'node:fs';
import { createInterface } from 'node:readline';
import { RunnerRequest, type RunnerEvent } from '../core/bundleRunner/protocol.js';
import { litertLmVersion, loadLiteRtLmInNode } from '../core/bundleRunner/wasmLoader.js';

// The engine's own console output must not mix with the protocol on stdout.
console.log = console.error;
console.info = console.error;

function emit(event: RunnerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

type Lm = Awaited<ReturnType<typeof loadLiteRtLmInNode>>;
type EngineT = Awaited<ReturnType<Lm['lm']['Engine']['create']>>;
let engine: EngineT | null = null;
let cancelCurrent: (() => void) | null = null;

/** An abort or trap means the wasm instance can no longer be trusted. */
function isFatal(error: unknown): boolean {
  const text = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  return /Aborted\(|RuntimeError|out of memory|Cannot enlarge memory|unreachable|memory access out of bounds/i.test(text);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function open(request: Extract<RunnerRequest, { op: 'open' }>, loaded: Lm): Promise<void> {
  const { lm } = loaded;
  const started = performance.now();
  // Only the bytes the header's sections span: a tail after them (a 50 GB sparse one) is never read.
  const whole = await openAsBlob(request.bundlePath);
  const model = request.readBytes !== undefined && request.readBytes < whole.size ? whole.slice(0, request.readBytes) : whole;
  engine = await lm.Engine.create({
    model,
    backend: lm.Backend.CPU,
    benchmarkEnabled: true,
    ...(request.contextLength ? { mainExecutorSettings: { maxNumTokens: request.contextLength } } : {}),
  });
  emit({ id: request.id, type: 'opened', loadSeconds: (performance.now() - started) / 1000, heapBytes: loaded.heapBytes() });
}

async function generate(request: Extract<RunnerRequest, { op: 'generate' }>, loaded: Lm): Promise<void> {
  if (!engine) throw new Error('No bundle is open.');
  const sessionConfig = {
    maxOutputTokens: request.maxOutputTokens,
    ...(request.sampler ? { samplerParams: request.sampler as never } : {}),
  };
  let cancelled = false;
  const t0 = performance.now();
  if (request.rawText !== null) {
    const session = await engine.createSession({ ...sessionConfig, applyPromptTemplateInSession: false });
    cancelCurrent = () => {
      cancelled = true;
      session.cancel();
    };
    try {
      await session.runPrefill([request.rawText]);
      const t1 = performance.now();
      const responses = await session.runDecode();
      const text = responses.getTexts()[0] ?? '';
      responses.delete();
      const t2 = performance.now();
      if (text) emit({ id: request.id, type: 'chunk', text });
      emit({
        id: request.id, type: 'done', text, promptTokens: null, tokens: null, timeToFirstTokenSeconds: null,
        prefillTokensPerSecond: null, decodeTokensPerSecond: null, prefillSeconds: (t1 - t0) / 1000, decodeSeconds: (t2 - t1) / 1000,
        cancelled, heapBytes: loaded.heapBytes(),
      });
    } finally {
      cancelCurrent = null;
      await session.delete();
    }
    return;
  }
  const history = request.messages.slice(0, -1);
  const last = request.messages[request.messages.length - 1]!;
  const conversation = await engine.createConversation({
    sessionConfig,
    ...(history.length > 0 ? { preface: { messages: history } } : {}),
  });
  cancelCurrent = () => {
    cancelled = true;
    conversation.cancel();
  };
  let text = '';
  let firstAt: number | null = null;
  const onChunk = (chunk: { content?: { type: string; text?: string }[] | string }): void => {
    const parts = typeof chunk.content === 'string' ? [{ type: 'text', text: chunk.content }] : (chunk.content ?? []);
    const piece = parts.map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');
    if (!piece) return;
    firstAt ??= performance.now();
    text += piece;
    emit({ id: request.id, type: 'chunk', text: piece });
  };
  try {
    await sendStreaming(conversation, { role: last.role, content: last.content }, onChunk);
    const t2 = performance.now();
    const info = await conversation.getBenchmarkInfo();
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    emit({
      id: request.id, type: 'done', text,
      promptTokens: info.lastPrefillTokenCount, tokens: info.lastDecodeTokenCount,
      timeToFirstTokenSeconds: finite(info.timeToFirstTokenInSecond),
      prefillTokensPerSecond: finite(info.lastPrefillTokensPerSecond),
      decodeTokensPerSecond: finite(info.lastDecodeTokensPerSecond),
      prefillSeconds: ((firstAt ?? t2) - t0) / 1000, decodeSeconds: (t2 - (firstAt ?? t2)) / 1000,
      cancelled, heapBytes: loaded.heapBytes(),
    });
  } finally {
    cancelCurrent = null;
    await conversation.delete();
  }
}

type ConversationT = Awaited<ReturnType<EngineT['createConversation']>>;
interface ConversationInternals {
  conversation?: { sendMessageAsync?: (json: string, callback: (chunk: string, isDone: boolean, error: string) => void) => Promise<void> };
  engine?: { waitUntilDone?: () => Promise<void> };
  mutexes?: { executor?: { acquireAndRun<T>(fn: () => Promise<T>): Promise<T> } };
}

/**
 * Streams a reply chunk by chunk. The single-threaded wasm engine runs the
 * whole decode inside one call, so the package's ReadableStream only
 * delivers its chunks after the last token; the engine's own callback (the
 * one that stream wraps) runs per token, and writing each chunk from it
 * (stdout to a pipe is synchronous) streams for real. Falls back to the
 * public stream when the package's internals differ from 0.17.1's.
 */
async function sendStreaming(conversation: ConversationT, message: { role: string; content: string }, onChunk: (chunk: { content?: { type: string; text?: string }[] | string }) => void): Promise<void> {
  const internals = conversation as unknown as ConversationInternals;
  const send = internals.conversation?.sendMessageAsync;
  const wait = internals.engine?.waitUntilDone;
  const executor = internals.mutexes?.executor;
  if (!send || !wait || !executor) {
    for await (const chunk of conversation.sendMessageStreaming(message) as unknown as AsyncIterable<{ content?: { type: string; text?: string }[] | string }>) onChunk(chunk);
    return;
  }
  let failure: string | null = null;
  await executor.acquireAndRun(async () => {
    await send.call(internals.conversation, JSON.stringify(message), (chunk, _isDone, error) => {
      if (error) failure ??= error;
      else if (chunk) onChunk(JSON.parse(chunk) as { content?: { type: string; text?: string }[] | string });
    });
    await wait.call(internals.engine);
  });
  if (failure) throw new Error(failure);
}

const loaded = await loadLiteRtLmInNode();
emit({ type: 'ready', engineVersion: litertLmVersion(), build: loaded.build });

// Requests run one at a time (the engine is single-threaded); cancel is handled at once.
let chain: Promise<void> = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let request: RunnerRequest;
  try {
    request = RunnerRequest.parse(JSON.parse(line));
  } catch (error) {
    emit({ id: -1, type: 'error', code: 'bad_request', message: messageOf(error), fatal: false });
    return;
  }
  if (request.op === 'cancel') {
    cancelCurrent?.();
    return;
  }
  chain = chain.then(async () => {
    try {
      if (request.op === 'open') await open(request, loaded);
      else await generate(request, loaded);
    } catch (error) {
      const fatal = isFatal(error);
      emit({ id: request.id, type: 'error', code: fatal ? 'engine_aborted' : 'engine_error', message: messageOf(error), fatal });
      if (fatal) process.exit(70);
    }
  });
});
lines.on('close', () => {
  void chain.then(() => process.exit(0));
});
process.on('unhandledRejection', (error) => {
  emit({ id: -1, type: 'error', code: 'engine_aborted', message: messageOf(error), fatal: true });
  process.exit(70);
});
