/**
 * The workbench side of the engine: starts the engine's child process
 * (dist/stages/bundle-runner.js), opens a bundle in it, sends chat requests
 * one at a time and turns the child's events into chat results with the
 * prompt text, timings and the reason generation ended. When the engine
 * aborts or runs out of wasm memory the child exits; the host reports one
 * sentence (naming the likely cause from the engine's last log line) and
 * starts a fresh child for the next request, so chat stays usable. The
 * Electron app, serve mode and the CLI all chat through this, never through
 * the renderer.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ChatRequest, LITERT_LM_JS_VERSION, type BundleRunInfo, type ChatPhase, type ChatRequestInput, type ChatResult, type StopReason } from '../../common/bundleRun.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import { nodeStageScript } from '../paths.js';
import { bundleFacts, contextLengthFor, conversationFor, renderPromptText, resolveSampler, type BundleFacts } from './bundleFacts.js';
import { predictHeap } from './heapFit.js';
import { WASM_ENGINE_NODE_FLAGS } from '../process/wasmEngineFlags.js';
import { RunnerEvent, type RunnerRequest } from './protocol.js';

interface Pending {
  onEvent(event: RunnerEvent): void;
  onExit(message: string): void;
}

interface Child {
  proc: ChildProcessWithoutNullStreams;
  bundlePath: string | null;
  contextLength: number | null;
  pending: Map<number, Pending>;
  /** The engine's last stderr lines, for naming the cause of an abort. */
  stderrTail: string[];
  ready: Promise<void>;
  exited: boolean;
}

export interface ChatCallbacks {
  onText?(text: string): void;
  /** Where the request is: waiting behind another, the engine loading the bundle, generating. */
  onPhase?(phase: ChatPhase): void;
  signal?: AbortSignal;
}

/** After a cancel is sent during generation, how long the engine gets to stop before its process is killed. */
const CANCEL_GRACE_MS = 2000;

/**
 * A request's cancellation: it may come while the request waits, while the
 * engine loads (the wasm load cannot be interrupted: the child is killed and
 * the next request starts a fresh one) or while it generates (the engine is
 * asked to stop; if its single-threaded loop does not read the request in
 * time, the child is killed too).
 */
class Ticket {
  cancelled = false;
  phase: ChatPhase = 'waiting';
  private onCancel: (() => void) | null = null;
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.onCancel?.();
  }
  /** What to do on cancel in the current phase. */
  whenCancelled(action: (() => void) | null): void {
    this.onCancel = action;
  }
}

export interface BundleRunnerOptions {
  /** Override the heap limit (tests). */
  heapLimitBytes?: number;
  /** Engine log lines (stderr of the child), e.g. the CLI prints them on stderr. */
  onLog?(line: string): void;
}

export class BundleRunnerHost {
  private child: Child | null = null;
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = false;
  private readonly cancels = new Map<string, () => void>();

  constructor(private readonly options: BundleRunnerOptions = {}) {}

  /** What the Try page shows before a chat: metadata, heap fit, problems that will stop the engine. */
  async info(bundlePath: string, contextLength?: number): Promise<BundleRunInfo> {
    const facts = await bundleFacts(path.resolve(bundlePath));
    const sampler = facts.metadata ? resolveSampler(facts.metadata, { greedy: false, maxTokens: 1, raw: false }).used : null;
    return {
      bundlePath: facts.path,
      sizeBytes: facts.sizeBytes,
      hasMetadata: facts.metadata !== null,
      contextLength: facts.tflite ? contextLengthFor(facts, contextLength) : null,
      sampler,
      stopTokens: facts.stopTokens,
      hasJinjaTemplate: Boolean(facts.metadata?.jinjaPromptTemplate),
      heapFit: facts.tflite ? predictHeap(facts.tflite, this.heapOptions()) : null,
      problems: runProblems(facts),
      engineVersion: LITERT_LM_JS_VERSION,
    };
  }

  /** Runs one generation; requests are served one at a time. A request can be cancelled from the moment it is made. */
  chat(input: ChatRequestInput, callbacks: ChatCallbacks = {}): Promise<ChatResult> {
    const request = ChatRequest.parse(input);
    const ticket = new Ticket();
    const cancel = () => ticket.cancel();
    if (request.requestId) this.cancels.set(request.requestId, cancel);
    callbacks.signal?.addEventListener('abort', cancel, { once: true });
    if (this.busy) callbacks.onPhase?.('waiting');
    const run = this.queue.then(async () => {
      this.busy = true;
      try {
        return await this.chatNow(request, callbacks, ticket);
      } finally {
        this.busy = false;
      }
    });
    this.queue = run.catch(() => undefined);
    return run.finally(() => {
      if (request.requestId && this.cancels.get(request.requestId) === cancel) this.cancels.delete(request.requestId);
      callbacks.signal?.removeEventListener('abort', cancel);
    });
  }

  /** Stops a request wherever it is (its result ends with stopReason "cancelled"); false when it is unknown or done. */
  cancel(requestId: string): boolean {
    const cancel = this.cancels.get(requestId);
    cancel?.();
    return Boolean(cancel);
  }

  async close(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child && !child.exited) {
      child.proc.stdin.end();
      const timer = setTimeout(() => child.proc.kill('SIGKILL'), 3000);
      await new Promise<void>((resolve) => (child.exited ? resolve() : child.proc.once('close', () => resolve())));
      clearTimeout(timer);
    }
  }

  private heapOptions(): { limitBytes?: number } {
    return this.options.heapLimitBytes !== undefined ? { limitBytes: this.options.heapLimitBytes } : {};
  }

  private async chatNow(request: ChatRequest, callbacks: ChatCallbacks, ticket: Ticket): Promise<ChatResult> {
    const bundlePath = path.resolve(request.bundlePath);
    const facts = await bundleFacts(bundlePath);
    // A bundle without a model still goes to the engine: its own error is the one the user will meet on device.
    const fit = facts.tflite ? predictHeap(facts.tflite, this.heapOptions()) : null;
    // What the engine will read is the sections the header names (bundleFacts.readBytes), never a tail after them.
    if (fit && facts.readBytes > fit.limitBytes) {
      throw new WorkbenchError('bundle_too_large', `${path.basename(bundlePath)}'s sections span ${formatBytes(facts.readBytes)}, more than the engine's ${formatBytes(fit.limitBytes)} wasm heap can load.`, { hint: fit.advice ?? 'Re-package the bundle from a smaller model.', heapFit: fit });
    }
    if (fit && !fit.fits) throw new WorkbenchError('bundle_too_large', `${path.basename(bundlePath)} ${fit.summary.charAt(0).toLowerCase()}${fit.summary.slice(1)}`, { hint: fit.advice, heapFit: fit });
    const options = request.options;
    const contextLength = contextLengthFor(facts, request.contextLength);
    const { used, pass } = resolveSampler(facts.metadata, options);
    const messages = conversationFor(request.messages, options);
    const last = messages[messages.length - 1];
    if (!last || last.role !== 'user') throw new WorkbenchError('bad_chat', 'The conversation must end with a user message.');
    const prompt = renderPromptText(facts, messages, options.raw);
    const count = (text: string) => (facts.tokenizer ? facts.tokenizer.encode(text).length : 0);
    const promptCount = facts.tokenizer ? count(prompt.text) : null;
    // Known too long before loading anything: the engine would refuse it after its load.
    if (promptCount !== null && promptCount >= contextLength) throw promptTooLong(promptCount, contextLength, request.messages.length > 1);
    // No cap of the request's own: the context is the limit, as on device.
    const maxOutputTokens = options.maxTokens ?? contextLength;
    const base = { promptText: prompt.text, promptSource: prompt.source, contextLength, sampler: used, stopTokens: facts.stopTokens, engineVersion: LITERT_LM_JS_VERSION };
    const stopped = (text: string, loadSeconds: number | null): ChatResult => ({
      ...base, text, stopReason: 'cancelled', tokens: text ? count(text) : 0, promptTokens: ticket.phase === 'generating' ? (promptCount ?? 0) : 0,
      timeToFirstTokenSeconds: null, prefillTokensPerSecond: null, decodeTokensPerSecond: null, loadSeconds, cancelledWhile: ticket.phase,
    });
    if (ticket.cancelled) return stopped('', null);

    let loadSeconds: number | null = null;
    let child: Child;
    try {
      child = await this.childFor(bundlePath, contextLength, facts.readBytes, (s) => (loadSeconds = s), (loading) => {
        ticket.phase = 'loading';
        callbacks.onPhase?.('loading');
        // The wasm load runs to its end once started: stopping it means ending the engine's process.
        ticket.whenCancelled(() => this.kill(loading));
      });
    } catch (error) {
      if (ticket.cancelled) return stopped('', null);
      throw explain(error, facts, used.type);
    }
    if (ticket.cancelled) return stopped('', loadSeconds);
    ticket.phase = 'generating';
    callbacks.onPhase?.('generating');
    const id = this.nextId++;
    let streamedText = '';
    let graceTimer: ReturnType<typeof setTimeout> | null = null;
    ticket.whenCancelled(() => {
      this.send(child, { id: this.nextId++, op: 'cancel' });
      // The engine's loop may not read the cancel until it ends: give it a moment, then end its process.
      graceTimer = setTimeout(() => this.kill(child), CANCEL_GRACE_MS);
    });
    try {
      const done = await this.exchange(child, { id, op: 'generate', messages, rawText: options.raw ? last.content : null, sampler: pass, maxOutputTokens }, (event) => {
        if (event.type !== 'chunk') return;
        streamedText += event.text;
        callbacks.onText?.(event.text);
      });
      if (done.type !== 'done') throw new Error('unreachable');
      const tokens = done.tokens ?? count(done.text);
      const promptTokens = promptCount ?? done.promptTokens ?? 0;
      const stopReason: StopReason =
        done.cancelled || ticket.cancelled ? 'cancelled' : options.maxTokens !== null && tokens >= options.maxTokens ? 'max-tokens' : promptTokens + tokens >= contextLength ? 'context-full' : 'stop-token';
      const rate = (n: number, s: number) => (s > 0 && n > 0 ? n / s : null);
      // The engine's benchmark describes the whole prompt only on a first turn; with a preface (earlier turns, a
      // system prompt) it times only part of the prefill, so the figures come from the wall clock over the whole prompt.
      const engineDescribesPrompt = !options.raw && messages.length === 1 && done.prefillTokensPerSecond !== null && (done.promptTokens === null || promptCount === null || done.promptTokens === promptCount);
      return {
        ...base,
        text: done.text,
        stopReason,
        tokens,
        promptTokens,
        timeToFirstTokenSeconds: engineDescribesPrompt ? (done.timeToFirstTokenSeconds ?? done.prefillSeconds) : options.raw ? null : done.prefillSeconds,
        prefillTokensPerSecond: engineDescribesPrompt ? done.prefillTokensPerSecond : rate(promptTokens, done.prefillSeconds),
        prefillMeasure: engineDescribesPrompt ? 'engine' : 'wall-clock',
        decodeTokensPerSecond: done.decodeTokensPerSecond ?? rate(tokens, done.decodeSeconds),
        loadSeconds,
        ...(stopReason === 'cancelled' ? { cancelledWhile: 'generating' as const } : {}),
      };
    } catch (error) {
      if (ticket.cancelled) return stopped(streamedText, loadSeconds);
      const tooLong = /Input token ids are too long[^\d]*(\d+)\s*>=\s*(\d+)/.exec(error instanceof Error ? error.message : '');
      if (tooLong) throw promptTooLong(Number(tooLong[1]), Number(tooLong[2]), request.messages.length > 1);
      throw explain(error, facts, used.type);
    } finally {
      if (graceTimer) clearTimeout(graceTimer);
      ticket.whenCancelled(null);
    }
  }

  /** Ends an engine process now (a cancelled load or a generation that does not stop); the next request starts a fresh one. */
  private kill(child: Child): void {
    if (this.child === child) this.child = null;
    if (!child.exited) child.proc.kill('SIGKILL');
  }

  /** The child with this bundle open at this context, starting or replacing one as needed. */
  private async childFor(bundlePath: string, contextLength: number, readBytes: number, onLoaded: (seconds: number) => void, onLoading: (child: Child) => void): Promise<Child> {
    if (this.child && !this.child.exited && this.child.bundlePath === bundlePath && this.child.contextLength === contextLength) return this.child;
    await this.close();
    const child = this.spawnChild();
    this.child = child;
    onLoading(child);
    await child.ready;
    const opened = await this.exchange(child, { id: this.nextId++, op: 'open', bundlePath, contextLength, readBytes });
    if (opened.type === 'opened') onLoaded(opened.loadSeconds);
    child.bundlePath = bundlePath;
    child.contextLength = contextLength;
    return child;
  }

  private spawnChild(): Child {
    const proc = spawn(process.execPath, [...WASM_ENGINE_NODE_FLAGS, nodeStageScript('bundle-runner')], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let markReady!: () => void;
    let failReady!: (error: Error) => void;
    const child: Child = {
      proc,
      bundlePath: null,
      contextLength: null,
      pending: new Map(),
      stderrTail: [],
      ready: new Promise<void>((resolve, reject) => {
        markReady = resolve;
        failReady = reject;
      }),
      exited: false,
    };
    createInterface({ input: proc.stdout }).on('line', (line) => {
      let event: RunnerEvent;
      try {
        event = RunnerEvent.parse(JSON.parse(line));
      } catch {
        this.options.onLog?.(line);
        return;
      }
      if (event.type === 'ready') return markReady();
      const target = 'id' in event ? child.pending.get(event.id) : undefined;
      target?.onEvent(event);
    });
    createInterface({ input: proc.stderr }).on('line', (line) => {
      child.stderrTail.push(line);
      if (child.stderrTail.length > 40) child.stderrTail.shift();
      this.options.onLog?.(line);
    });
    proc.once('error', (error) => failReady(error));
    proc.once('close', (code, signal) => {
      child.exited = true;
      const why = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (possibly the system running out of memory)' : ''}` : `exited with code ${code}`;
      const lastLine = engineMessage(child.stderrTail);
      const message = `The engine process ${why}${lastLine ? `; its last message: ${lastLine}` : ''}.`;
      failReady(new WorkbenchError('engine_exited', message));
      for (const pending of child.pending.values()) pending.onExit(message);
      child.pending.clear();
      if (this.child === child) this.child = null;
    });
    return child;
  }

  private send(child: Child, request: RunnerRequest): void {
    if (!child.exited) child.proc.stdin.write(`${JSON.stringify(request)}\n`);
  }

  /** Sends a request and resolves with its final event (opened / done); rejects with the error event. */
  private exchange(child: Child, request: Exclude<RunnerRequest, { op: 'cancel' }>, onEvent?: (event: RunnerEvent) => void): Promise<RunnerEvent> {
    return new Promise((resolve, reject) => {
      let fatal: RunnerEvent | null = null;
      child.pending.set(request.id, {
        onEvent: (event) => {
          if (event.type === 'chunk') return onEvent?.(event);
          // After a fatal error the child exits; its last stderr lines (the cause) are complete only then.
          if (event.type === 'error' && event.fatal) return void (fatal = event);
          child.pending.delete(request.id);
          if (event.type === 'error') reject(new EngineFailure(event.code, event.message, event.fatal, [...child.stderrTail]));
          else resolve(event);
        },
        onExit: (message) => {
          const first = fatal?.type === 'error' ? fatal : null;
          reject(new EngineFailure(first?.code ?? 'engine_exited', first?.message ?? message, true, [...child.stderrTail]));
        },
      });
      this.send(child, request);
    });
  }
}

class EngineFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly fatal: boolean,
    readonly stderrTail: string[],
  ) {
    super(message);
  }
}

/** The engine's last meaningful log line (glog prefix removed). */
function engineMessage(lines: readonly string[]): string | null {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line || /^Aborted\(\)/.test(line) || /Build with -sASSERTIONS/.test(line)) continue;
    return line.replace(/^[IWEF]\d{4} [\d:.]+\s+\d+\s+[\w.]+:\d+\]\s*/, '');
  }
  return null;
}

/** The engine's "Input token ids are too long (N ≥ M)" as a sentence with the way out. */
export function promptTooLong(promptTokens: number, contextLength: number, followUp: boolean): WorkbenchError {
  return new WorkbenchError(
    'prompt_too_long',
    `The ${followUp ? 'conversation' : 'message'} is ${promptTokens} tokens with its chat template, and this bundle's context holds ${contextLength}, so there is no room for an answer.`,
    {
      hint: followUp
        ? 'Start a new chat (earlier turns are sent again with every message) or send a shorter message; for longer conversations, convert with a larger context (KV cache length) and package again.'
        : 'Send a shorter message; for longer prompts, convert with a larger context (KV cache length) and package again.',
      promptTokens,
      contextLength,
    },
  );
}

/** Things that stop a bundle from running in this engine, one sentence each. */
export function runProblems(facts: BundleFacts): string[] {
  const problems: string[] = [];
  const name = path.basename(facts.path);
  if (!facts.metadata) problems.push(`${name} has no LlmMetadata section; LiteRT-LM ${LITERT_LM_JS_VERSION} aborts loading such a bundle.`);
  if (facts.metadata?.samplerParams?.type === 'GREEDY') {
    problems.push(`Its sampler is GREEDY, which LiteRT-LM's CPU sampler does not implement ("Sampler type: 3 not implemented yet"); chat with Greedy (TOP_P, k = 1) or re-package it.`);
  }
  if (facts.metadata && (facts.metadata.stopTokens ?? []).length === 0) problems.push('It has no stop tokens; the runtime refuses to start a session without them.');
  if (!facts.tflite) problems.push(`${name} has no TFLiteModel section.`);
  return problems;
}

/** One sentence for a failed generation, naming the cause when the engine's log shows it. */
function explain(error: unknown, facts: BundleFacts, samplerType: string): unknown {
  if (!(error instanceof EngineFailure)) return error;
  const name = path.basename(facts.path);
  const log = engineMessage(error.stderrTail) ?? '';
  const all = `${error.message}\n${error.stderrTail.join('\n')}`;
  if (/Section not found: LlmMetadataProto/.test(all)) {
    return new WorkbenchError('bundle_cannot_run', `The engine aborted loading ${name}: the bundle has no LlmMetadata section, which LiteRT-LM ${LITERT_LM_JS_VERSION} requires.`, {
      hint: 'Add the metadata the model folder calls for: workbench package --fix-metadata BUNDLE --model DIR --out FIXED.litertlm (or re-package it).',
    });
  }
  if (/Sampler type: 3 not implemented/.test(all) || (samplerType === 'GREEDY' && /not implemented/.test(all))) {
    return new WorkbenchError('bundle_cannot_run', `${name} asks for the GREEDY sampler, which LiteRT-LM's CPU sampler does not implement ("Sampler type: 3 not implemented yet").`, {
      hint: 'Choose Greedy in the overrides (written as TOP_P with k = 1), or re-package the bundle: the packager writes TOP_P k = 1.',
    });
  }
  if (/out of memory|Cannot enlarge memory|failed to create XNNPACK runtime|bad_alloc/i.test(all)) {
    return new WorkbenchError('engine_out_of_memory', `The engine ran out of its ${formatBytes(4 * 1024 ** 3)} wasm heap running ${name}${log ? ` (${log})` : ''}.`, {
      hint: 'Use the Python litert-lm API runner (python-env/runners/litert_lm_chat.py) or re-convert with a smaller KV cache.',
    });
  }
  if (error.fatal) {
    return new WorkbenchError('engine_aborted', `The engine aborted running ${name}${log ? `: ${log}` : ` (${error.message})`}.`, { hint: 'The next request starts a fresh engine.' });
  }
  return new WorkbenchError(error.code, `The engine could not run ${name}: ${error.message}`);
}
