/**
 * Serve mode: the same renderer and API over HTTP + WebSocket, so a
 * conversion can run on a remote high-RAM host and be driven from a browser
 * (usually through an SSH port forward). Bound to 127.0.0.1 unless told
 * otherwise with allowRemote.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { WorkbenchError } from '../common/errors.js';
import { createDispatch, type Dispatch } from '../core/api/dispatch.js';
import { createHandlers } from '../core/api/handlers.js';
import type { Engine } from '../core/engine.js';
import { distPath } from '../core/paths.js';
import { isLoopbackHost, newToken, originAllowed, tokenFromRequest, tokenMatches } from './auth.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  allowRemote?: boolean;
  /** Fixed token (tests); a random one per launch otherwise. */
  token?: string;
  rendererDir?: string;
}

export interface RunningServer {
  url: string;
  /** The URL with the token, to open in a browser. */
  openUrl: string;
  token: string;
  host: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

/** Same policy as the Electron window: only our own scripts, only our own server. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const MAX_BODY_BYTES = 8 * 1024 * 1024;

export async function startServer(engine: Engine, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.allowRemote) {
    throw new WorkbenchError(
      'remote_not_allowed',
      `Refusing to listen on ${host}: that exposes the workbench beyond this machine. Use an SSH port forward to 127.0.0.1, or pass --allow-remote if you really mean it.`,
    );
  }
  const token = options.token ?? newToken();
  const rendererDir = options.rendererDir ?? distPath('renderer');
  const dispatch = createDispatch(createHandlers(engine), {
    onInternalError: (method, error) => console.error(`[serve] ${method} failed:`, error),
  });

  const server = createServer((request, response) => {
    handleHttp(request, response, { token, dispatch, rendererDir }).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { ok: false, error: { code: 'internal', message: String(error) } });
    });
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://placeholder');
    if (url.pathname !== '/ws' || !originAllowed(request) || !tokenMatches(token, tokenFromRequest(request))) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => serveSocket(ws, engine, dispatch));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new WorkbenchError('port_in_use', `Port ${options.port} on ${host} is already in use; choose another with --port.`)
          : error,
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/`;
  return {
    url,
    openUrl: `${url}#token=${token}`,
    token,
    host,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveSocket(ws: WebSocket, engine: Engine, dispatch: Dispatch): void {
  const unsubscribe = engine.events.subscribe((event) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event }));
  });
  ws.on('close', unsubscribe);
  ws.on('error', unsubscribe);
  ws.on('message', (data) => {
    let message: { id?: unknown; method?: unknown; input?: unknown };
    try {
      message = JSON.parse(String(data)) as typeof message;
    } catch {
      ws.send(JSON.stringify({ id: null, result: { ok: false, error: { code: 'bad_message', message: 'The message is not JSON.' } } }));
      return;
    }
    const id = typeof message.id === 'number' || typeof message.id === 'string' ? message.id : null;
    if (typeof message.method !== 'string') {
      ws.send(JSON.stringify({ id, result: { ok: false, error: { code: 'bad_message', message: 'The message has no method.' } } }));
      return;
    }
    void dispatch(message.method, message.input).then((result) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id, result }));
    });
  });
}

interface HttpContext {
  token: string;
  dispatch: Dispatch;
  rendererDir: string;
}

async function handleHttp(request: IncomingMessage, response: ServerResponse, ctx: HttpContext): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://placeholder');
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  if (url.pathname.startsWith('/api/')) {
    if (!originAllowed(request)) return sendJson(response, 403, { ok: false, error: { code: 'bad_origin', message: 'Requests from other origins are refused.' } });
    if (!tokenMatches(ctx.token, tokenFromRequest(request))) {
      return sendJson(response, 401, { ok: false, error: { code: 'unauthorized', message: 'Missing or wrong token: open the URL printed by `workbench serve`.' } });
    }
    if (request.method !== 'POST') return sendJson(response, 405, { ok: false, error: { code: 'method_not_allowed', message: 'Use POST with a JSON body.' } });
    const body = await readBody(request);
    if (body === null) return sendJson(response, 413, { ok: false, error: { code: 'too_large', message: 'The request body is too large.' } });
    let input: unknown;
    try {
      input = body.length === 0 ? {} : JSON.parse(body);
    } catch {
      return sendJson(response, 400, { ok: false, error: { code: 'bad_json', message: 'The request body is not valid JSON.' } });
    }
    const result = await ctx.dispatch(decodeURIComponent(url.pathname.slice('/api/'.length)), input);
    return sendJson(response, result.ok ? 200 : statusFor(result.error.code), result);
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405).end();
    return;
  }
  serveStatic(url.pathname, response, ctx.rendererDir);
}

function statusFor(code: string): number {
  if (code === 'unknown_method') return 404;
  if (code === 'invalid_input' || code === 'invalid_plan') return 400;
  if (code === 'internal') return 500;
  return 422;
}

function serveStatic(pathname: string, response: ServerResponse, rendererDir: string): void {
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    response.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('The user interface is not built. Run `npm run build` and start serve mode again.');
    return;
  }
  const relative = path.normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
  let file = path.join(rendererDir, relative);
  // Never serve anything outside the renderer folder; unknown paths get the app (client-side routes).
  if (!file.startsWith(rendererDir + path.sep) || !existsSync(file) || !statSync(file).isFile()) file = path.join(rendererDir, 'index.html');
  const type = MIME[path.extname(file)] ?? 'application/octet-stream';
  response.writeHead(200, {
    'Content-Type': type,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'Cache-Control': file.endsWith('index.html') ? 'no-store' : 'public, max-age=3600',
  });
  createReadStream(file).pipe(response);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  response.end(JSON.stringify(body));
}

/** The body as text, or null when it is over the limit (read to the end and discarded, so the client gets the 413). */
function readBody(request: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      if (!tooLarge) chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
