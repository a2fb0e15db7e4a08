/**
 * Try: chat with a bundle in LiteRT-LM's own engine (wasm, CPU backend),
 * which runs in a child process on the engine's host (`bundle.chat`); the
 * renderer never loads the model, so Electron, serve mode and the CLI see the
 * same thing. Shows what the device would do: streamed tokens, the exact
 * prompt text the runtime rendered, time to first token, prefill and decode
 * tokens/s and why generation ended. Overrides (greedy = TOP_P k = 1,
 * temperature, top-p, top-k, max tokens, system prompt) are per message; an
 * empty one keeps the bundle's metadata (empty max tokens: up to its
 * context). While the engine loads the page says so with the time so far,
 * and Stop works in every phase. Opening a bundle starts a new conversation.
 * The bundle path lives in the route (#/try?bundle=…) so run pages can link here.
 */
import { useEffect, useRef, useState } from 'react';
import { overrideTopK, type ChatMessage, type ChatPhase, type ChatResult } from '../../../main/common/bundleRun';
import { formatBytes } from '../../../main/common/format';
import { ApiError } from '../api/client';
import { useApi, useCall, useEvents } from '../api/hooks';
import { Empty, ErrorBox } from '../components/common';
import { PathField } from '../components/PathField';
import { navigate, type Route } from '../router';
import { useNow } from '../useNow';

interface Turn {
  user: string;
  answer: string;
  result: ChatResult | null;
  error: ApiError | null;
  requestId: string;
  /** Where the request is, from the engine host's chatPhase events, and since when (this browser's clock). */
  phase: ChatPhase | null;
  phaseSince: number;
  stopping: boolean;
}

const CANCELLED_WHILE: Record<ChatPhase, string> = {
  waiting: 'before the engine started on it',
  loading: 'while the engine was loading the bundle',
  generating: 'while generating',
};

const STOP_LABEL: Record<ChatResult['stopReason'], string> = {
  'stop-token': 'stop token',
  'max-tokens': 'max-tokens cap',
  'context-full': 'context full',
  cancelled: 'cancelled',
};

function fixed(x: number | null, digits = 1): string {
  return x === null ? '—' : x.toFixed(digits);
}

export function TryPage({ route }: { route: Route }) {
  const target = route.query.get('bundle') ?? '';
  const [draft, setDraft] = useState(target);
  useEffect(() => setDraft(target), [target]);
  const info = useCall('bundle.info', target ? { bundlePath: target } : null);
  const api = useApi();
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [greedy, setGreedy] = useState(false);
  const [temperature, setTemperature] = useState('');
  const [topP, setTopP] = useState('');
  const [topK, setTopK] = useState('');
  const [maxTokens, setMaxTokens] = useState('128');
  const [system, setSystem] = useState('');
  const [showPrompt, setShowPrompt] = useState(false);
  const streamed = useRef(new Map<string, string>());
  const busyRef = useRef<string | null>(null);
  busyRef.current = busy;
  const now = useNow(busy ? 500 : 60_000);

  /** A new conversation: the request still running (another bundle's, or this one's) is stopped, not waited for. */
  const newConversation = () => {
    if (busyRef.current) void api.call('bundle.cancel', { requestId: busyRef.current }).catch(() => undefined);
    setTurns([]);
    setBusy(null);
  };
  useEffect(newConversation, [target]); // eslint-disable-line react-hooks/exhaustive-deps

  useEvents((event) => {
    if (event.type === 'chatPhase') {
      setTurns((all) => all.map((t) => (t.requestId === event.requestId ? { ...t, phase: event.phase, phaseSince: Date.now() } : t)));
      return;
    }
    if (event.type !== 'chat') return;
    const so = (streamed.current.get(event.requestId) ?? '') + event.text;
    streamed.current.set(event.requestId, so);
    setTurns((all) => all.map((t) => (t.requestId === event.requestId ? { ...t, answer: so } : t)));
  });

  const bundleSampler = info.data?.sampler ?? null;
  const sampling = !greedy && (temperature !== '' || topP !== '' || topK !== '');
  // The k an override will use when the field is empty (k = 1 is greedy and would make temperature do nothing).
  const impliedK = overrideTopK(undefined, bundleSampler && bundleSampler.type !== 'GREEDY' ? bundleSampler.k : 1);
  const overridesError = (() => {
    if (temperature && !(Number(temperature) > 0 && Number(temperature) <= 10)) return 'Temperature must be above 0 and at most 10.';
    if (topP && !(Number(topP) > 0 && Number(topP) <= 1)) return 'Top-p must be above 0 and at most 1.';
    if (topK && (!/^[1-9]\d*$/.test(topK) || Number(topK) > 100_000)) return 'Top-k must be a whole number from 1 to 100,000.';
    if (maxTokens !== '' && (!/^[1-9]\d*$/.test(maxTokens) || Number(maxTokens) > 32768)) return "Max tokens must be a whole number from 1 to 32768, or empty for the bundle's context.";
    return null;
  })();

  const send = async () => {
    const text = input.trim();
    if (!text || busy || overridesError) return;
    const requestId = `try-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const history: ChatMessage[] = turns.filter((t) => t.result && t.result.stopReason !== 'cancelled').flatMap((t) => [
      { role: 'user' as const, content: t.user },
      { role: 'assistant' as const, content: t.result!.text },
    ]);
    setTurns((all) => [...all, { user: text, answer: '', result: null, error: null, requestId, phase: null, phaseSince: Date.now(), stopping: false }]);
    setInput('');
    setBusy(requestId);
    try {
      const result = await api.call('bundle.chat', {
        bundlePath: target,
        requestId,
        messages: [...history, { role: 'user', content: text }],
        options: {
          greedy,
          maxTokens: maxTokens === '' ? null : Number(maxTokens),
          ...(temperature && !greedy ? { temperature: Number(temperature) } : {}),
          ...(topP && !greedy ? { topP: Number(topP) } : {}),
          ...(topK && !greedy ? { topK: Number(topK) } : {}),
          ...(system.trim() ? { systemPrompt: system } : {}),
        },
      });
      setTurns((all) => all.map((t) => (t.requestId === requestId ? { ...t, answer: result.text, result } : t)));
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError('internal', String(error));
      setTurns((all) => all.map((t) => (t.requestId === requestId ? { ...t, error: e } : t)));
    } finally {
      setBusy((current) => (current === requestId ? null : current));
      streamed.current.delete(requestId);
    }
  };

  const stop = () => {
    if (!busy) return;
    setTurns((all) => all.map((t) => (t.requestId === busy ? { ...t, stopping: true } : t)));
    void api.call('bundle.cancel', { requestId: busy }).catch(() => undefined);
  };

  return (
    <div className="page" data-testid="try-page">
      <div className="page-header">
        <h1>Try</h1>
      </div>
      <form
        className="card"
        onSubmit={(event) => {
          event.preventDefault();
          if (!draft.trim()) return;
          // Opening a bundle starts a new conversation, also when it is the one already open.
          if (draft.trim() === target) newConversation();
          else navigate(`/try?bundle=${encodeURIComponent(draft.trim())}`);
        }}
      >
        <PathField label="Bundle" kind="file" value={draft} onChange={setDraft} placeholder="/path/to/model.litertlm" help="Runs in LiteRT-LM's own engine (WebAssembly, CPU backend) on the engine's host, with the bundle's tokenizer, chat template, stop tokens and sampler." testId="try-bundle" />
        <div className="actions">
          <button type="submit" disabled={!draft.trim()} data-testid="try-open">
            Open
          </button>
        </div>
      </form>
      {!target ? <Empty>Name a .litertlm bundle to chat with it the way the device's runtime will.</Empty> : null}
      {target && info.error ? <ErrorBox error={info.error} title="Cannot read this bundle" /> : null}
      {target && info.data ? (
        <div className="card" data-testid="try-info" data-fits={String(info.data.heapFit?.fits ?? true)}>
          <div className="summary-grid">
            <div>
              <span className="muted">size</span> {formatBytes(info.data.sizeBytes)}
            </div>
            <div>
              <span className="muted">context</span> {info.data.contextLength ?? '—'} tokens
            </div>
            <div>
              <span className="muted">sampler</span>{' '}
              {info.data.sampler ? `${info.data.sampler.type} k=${info.data.sampler.k ?? '-'} p=${info.data.sampler.p ?? '-'} T=${info.data.sampler.temperature ?? '-'} (${info.data.sampler.source})` : '—'}
            </div>
            <div>
              <span className="muted">stop tokens</span> <span className="mono">{info.data.stopTokens.join(' ') || '(none)'}</span>
            </div>
            <div>
              <span className="muted">engine</span> LiteRT-LM {info.data.engineVersion} (wasm, CPU)
            </div>
          </div>
          {info.data.heapFit ? <p className={info.data.heapFit.fits ? 'muted' : 'error-text'} data-testid="try-heap">{info.data.heapFit.summary}{info.data.heapFit.advice ? ` ${info.data.heapFit.advice}` : ''}</p> : null}
          {info.data.problems.length > 0 ? (
            <ul className="warning-list" data-testid="try-problems">
              {info.data.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {target ? (
        <div className="card" data-testid="try-chat">
          <h2>Chat</h2>
          <details className="overrides" data-testid="try-overrides">
            <summary>Overrides (empty = the bundle's metadata)</summary>
            <div className="actions">
              <label>
                <input type="checkbox" checked={greedy} onChange={(e) => setGreedy(e.target.checked)} data-testid="try-greedy" /> Greedy (TOP_P, k = 1)
              </label>
              <label>
                Temperature <input size={5} value={temperature} onChange={(e) => setTemperature(e.target.value)} disabled={greedy} placeholder={bundleSampler?.temperature != null ? String(bundleSampler.temperature) : ''} data-testid="try-temperature" />
              </label>
              <label>
                Top-p <input size={5} value={topP} onChange={(e) => setTopP(e.target.value)} disabled={greedy} placeholder={bundleSampler?.p != null ? String(bundleSampler.p) : ''} data-testid="try-top-p" />
              </label>
              <label>
                Top-k{' '}
                <input
                  size={5}
                  value={topK}
                  onChange={(e) => setTopK(e.target.value)}
                  disabled={greedy}
                  // Empty shows the k that will be used: the bundle's, or 40 once temperature or top-p is overridden over a k = 1.
                  placeholder={sampling ? String(impliedK.k) : bundleSampler?.k != null ? String(bundleSampler.k) : ''}
                  data-testid="try-top-k"
                />
              </label>
              <label>
                Max tokens{' '}
                <input size={6} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} placeholder={info.data?.contextLength ? `${info.data.contextLength}` : 'context'} data-testid="try-max-tokens" />
              </label>
            </div>
            <p className="help" data-testid="try-overrides-help">
              {maxTokens === '' ? `Max tokens empty: no cap of its own; the answer ends at a stop token or when the bundle's context (${info.data?.contextLength ?? 'max_num_tokens'} tokens) is full, as on device.` : null}
              {sampling && topK === '' && impliedK.raised ? ` Top-k ${impliedK.k} will be used: the bundle's k = 1 is greedy, which would make temperature and top-p do nothing. Type a top-k to choose another.` : null}
            </p>
            <label className="block">
              System prompt
              <textarea rows={2} value={system} onChange={(e) => setSystem(e.target.value)} data-testid="try-system" />
            </label>
            <label>
              <input type="checkbox" checked={showPrompt} onChange={(e) => setShowPrompt(e.target.checked)} data-testid="try-show-prompt" /> Show the prompt text the runtime rendered
            </label>
          </details>
          {overridesError ? <p className="error-text">{overridesError}</p> : null}
          <div className="chat-log" data-testid="try-log">
            {turns.map((t, i) => (
              <div key={t.requestId} className="chat-turn" data-testid={`try-turn-${i}`} data-state={t.result ? 'done' : t.error ? 'error' : 'streaming'}>
                <div className="chat-user">
                  <span className="muted">you</span> {t.user}
                </div>
                <div className="chat-answer mono" data-testid={`try-answer-${i}`}>
                  {t.answer || (t.error || !t.result ? '' : '…')}
                </div>
                {!t.result && !t.error ? <TurnStatus turn={t} now={now} bundleName={target.split(/[\\/]/).pop() ?? target} sizeBytes={info.data?.sizeBytes ?? null} index={i} /> : null}
                {t.error ? <ErrorBox error={{ code: t.error.code, message: t.error.message, ...(hintOf(t.error) ? { hint: hintOf(t.error)! } : {}) }} title="The engine could not answer" /> : null}
                {t.result ? (
                  <div className="chat-stats muted" data-testid={`try-stats-${i}`} data-stop={t.result.stopReason}>
                    {t.result.cancelledWhile && t.result.tokens === 0 ? (
                      <>
                        <b>stopped</b> {CANCELLED_WHILE[t.result.cancelledWhile]}
                      </>
                    ) : (
                      <>
                        stopped by <b>{STOP_LABEL[t.result.stopReason]}</b> · {t.result.tokens} tokens after a {t.result.promptTokens}-token prompt{t.result.prefillMeasure === 'wall-clock' && i > 0 ? ' (the whole conversation, prefilled again each turn)' : ''} · first token {fixed(t.result.timeToFirstTokenSeconds, 2)} s · prefill{' '}
                        <span title={t.result.prefillMeasure === 'wall-clock' ? 'Prompt tokens divided by the time from the request to the first token (wall clock)' : "The engine's own benchmark of this prefill"}>{fixed(t.result.prefillTokensPerSecond)} tok/s</span> · decode {fixed(t.result.decodeTokensPerSecond)} tok/s
                      </>
                    )}
                    {t.result.loadSeconds !== null ? ` · engine load ${fixed(t.result.loadSeconds)} s` : ''} · sampler {t.result.sampler.type} k={t.result.sampler.k ?? '-'} ({t.result.sampler.source})
                  </div>
                ) : null}
                {t.result && showPrompt ? (
                  <pre className="chat-prompt" data-testid={`try-prompt-${i}`} title={t.result.promptSource}>
                    {t.result.promptText}
                  </pre>
                ) : null}
              </div>
            ))}
          </div>
          <form
            className="actions"
            onSubmit={(event) => {
              event.preventDefault();
              void send();
            }}
          >
            <input className="grow" value={input} onChange={(e) => setInput(e.target.value)} placeholder="Message" aria-label="Message" data-testid="try-input" />
            <button type="submit" disabled={!input.trim() || Boolean(busy) || Boolean(overridesError)} data-testid="try-send">
              Send
            </button>
            {busy ? (
              <button type="button" className="secondary" onClick={stop} disabled={turns.some((t) => t.requestId === busy && t.stopping)} data-testid="try-stop">
                Stop
              </button>
            ) : null}
            {turns.length > 0 && !busy ? (
              <button type="button" className="secondary" onClick={newConversation} data-testid="try-new-chat">
                New chat
              </button>
            ) : null}
          </form>
        </div>
      ) : null}
    </div>
  );
}

/** What a request is doing before its answer: waiting, the engine loading the bundle (with the time so far), generating. */
function TurnStatus({ turn, now, bundleName, sizeBytes, index }: { turn: Turn; now: number; bundleName: string; sizeBytes: number | null; index: number }) {
  const seconds = Math.max(0, Math.floor((now - turn.phaseSince) / 1000));
  let what: string;
  if (turn.stopping) what = turn.phase === 'loading' ? 'Stopping: ending the engine process that is loading the bundle…' : 'Stopping…';
  else if (turn.phase === 'loading') what = `Loading ${bundleName}${sizeBytes !== null ? ` (${formatBytes(sizeBytes)})` : ''} into LiteRT-LM's engine (wasm, CPU); a first load takes a while. Stop ends the load.`;
  else if (turn.phase === 'waiting') what = 'Waiting for the engine: another request is still running.';
  else if (turn.phase === 'generating') what = turn.answer ? 'Generating…' : 'Reading the prompt (prefill)…';
  else what = 'Sending…';
  return (
    <div className="chat-status muted" role="status" data-testid={`try-status-${index}`} data-phase={turn.stopping ? 'stopping' : (turn.phase ?? 'sending')}>
      <span className="spinner" aria-hidden="true" />
      <span>{what}</span>
      <span className="mono" data-testid="try-elapsed">
        {seconds} s
      </span>
    </div>
  );
}

function hintOf(error: ApiError): string | undefined {
  const details = error.details as { hint?: unknown } | undefined;
  return typeof details?.hint === 'string' ? details.hint : undefined;
}
