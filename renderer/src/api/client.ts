/**
 * The renderer's one API client, over either transport: Electron IPC through
 * the preload (`window.workbench`) or serve mode's WebSocket. Pages only see
 * `call(method, input)` and `subscribe(listener)`, typed from the contract.
 */
import type { Envelope, MethodInput, MethodName, MethodOutput } from '../../../main/common/api/contract';
import type { WorkbenchEvent } from '../../../main/common/api/events';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface Transport {
  readonly kind: 'electron' | 'serve';
  call(method: string, input: unknown): Promise<Envelope<unknown>>;
  onEvent(listener: (event: WorkbenchEvent) => void): () => void;
  /** Connection state changes (WebSocket only). */
  onStatus?(listener: (status: ConnectionStatus) => void): () => void;
}


export type ConnectionStatus = 'connecting' | 'open' | 'closed' | 'unauthorized';

export interface ApiClient {
  readonly transport: Transport;
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  subscribe(listener: (event: WorkbenchEvent) => void): () => void;
}

export function createClient(transport: Transport): ApiClient {
  return {
    transport,
    async call(method, input) {
      const envelope = await transport.call(method, input);
      if (!envelope.ok) throw new ApiError(envelope.error.code, envelope.error.message, envelope.error.details);
      return envelope.value as never;
    },
    subscribe: (listener) => transport.onEvent(listener),
  };
}

interface PreloadApi {
  methods: Record<string, (input: unknown) => Promise<Envelope<unknown>>>;
  onEvent(listener: (event: unknown) => void): () => void;
}

export function ipcTransport(api: PreloadApi): Transport {
  return {
    kind: 'electron',
    call: async (method, input) => {
      const fn = api.methods[method];
      if (!fn) return { ok: false, error: { code: 'unknown_method', message: `The app does not expose ${method}.` } };
      return fn(input);
    },
    onEvent: (listener) => api.onEvent((event) => listener(event as WorkbenchEvent)),
  };
}

/**
 * WebSocket transport with automatic reconnection: calls made while the
 * socket is down wait for it; events resume after reconnecting (pages refetch
 * on the 'open' status to fill any gap).
 */
export function webSocketTransport(url: string): Transport & { reconnect(nextUrl: string): void } {
  let socket: WebSocket | null = null;
  let currentUrl = url;
  let nextId = 1;
  let status: ConnectionStatus = 'connecting';
  const pending = new Map<number, (envelope: Envelope<unknown>) => void>();
  const queue: string[] = [];
  const eventListeners = new Set<(event: WorkbenchEvent) => void>();
  const statusListeners = new Set<(status: ConnectionStatus) => void>();
  let retryMs = 250;

  const setStatus = (next: ConnectionStatus) => {
    status = next;
    for (const listener of statusListeners) listener(next);
  };

  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  const connect = () => {
    retryTimer = null;
    setStatus('connecting');
    const ws = new WebSocket(currentUrl);
    socket = ws;
    let opened = false;
    ws.onopen = () => {
      if (socket !== ws) return;
      opened = true;
      retryMs = 250;
      setStatus('open');
      for (const message of queue.splice(0)) ws.send(message);
    };
    ws.onmessage = (message) => {
      const data = JSON.parse(String(message.data)) as { id?: number; result?: Envelope<unknown>; event?: WorkbenchEvent };
      if (data.event) for (const listener of eventListeners) listener(data.event);
      else if (typeof data.id === 'number' && data.result) {
        pending.get(data.id)?.(data.result);
        pending.delete(data.id);
      }
    };
    ws.onclose = () => {
      // A socket replaced by reconnect() (a new token) closes silently.
      if (socket !== ws) return;
      socket = null;
      if (!opened) {
        // Refused at the handshake: most likely a missing or stale token.
        setStatus('unauthorized');
        for (const [id, resolve] of pending) {
          resolve({ ok: false, error: { code: 'unauthorized', message: 'The server refused the connection: open the URL printed by `workbench serve` (it carries the token).' } });
          pending.delete(id);
        }
        return;
      }
      setStatus('closed');
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(5000, retryMs * 2);
    };
  };
  connect();

  return {
    kind: 'serve',
    /** Connects again with another URL (a new token): calls waiting in the queue go to the new connection. */
    reconnect(nextUrl) {
      currentUrl = nextUrl;
      if (retryTimer) clearTimeout(retryTimer);
      const old = socket;
      socket = null;
      old?.close();
      retryMs = 250;
      connect();
    },
    call(method, input) {
      if (status === 'unauthorized') {
        return Promise.resolve({ ok: false, error: { code: 'unauthorized', message: 'Not connected: the server refused the token.' } });
      }
      const id = nextId++;
      const message = JSON.stringify({ id, method, input });
      return new Promise((resolve) => {
        pending.set(id, resolve);
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(message);
        else queue.push(message);
      });
    },
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      listener(status);
      return () => statusListeners.delete(listener);
    },
  };
}

const TOKEN_KEY = 'workbench.token';

/**
 * Serve mode: the token arrives in the URL fragment (never sent to the server
 * in requests or Referer). It is kept in this tab's sessionStorage, so
 * navigating and reloading keep it, and the fragment is replaced by the start
 * page so the token is not left in the address bar or history.
 */
function takeTokenFromUrl(): string | null {
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const fromUrl = fragment.get('token');
  if (!fromUrl) return null;
  sessionStorage.setItem(TOKEN_KEY, fromUrl);
  window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}#/runs`);
  return fromUrl;
}

function socketUrl(token: string): string {
  const protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${protocol}//${window.location.host}/ws?token=${encodeURIComponent(token)}`;
}

/** Picks the transport for where the renderer runs. */
export function detectTransport(): Transport {
  const preload = (window as unknown as { workbench?: PreloadApi }).workbench;
  if (preload) return ipcTransport(preload);
  takeTokenFromUrl();
  const transport = webSocketTransport(socketUrl(sessionStorage.getItem(TOKEN_KEY) ?? ''));
  // A server restarted prints a new URL; pasted into this open tab only the fragment changes (no page load), so the
  // tab watches for it, and this listener runs before the router's (added later), which then sees "#/runs".
  window.addEventListener('hashchange', () => {
    const token = takeTokenFromUrl();
    if (token) transport.reconnect(socketUrl(token));
  });
  return transport;
}
