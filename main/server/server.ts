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
import type { WebSocket } from 'ws';
import { WorkbenchError } from '../common/errors.js';
import { createDispatch, type Dispatch } from '../core/api/dispatch.js';
import { createHandlers } from '../core/api/handlers.js';
import type { Engine } from '../core/engine.js';
import { distPath } from '../core/paths.js';
import { isLoopbackHost, newToken, originAllowed, originPolicy, tokenFromRequest, tokenMatches, type OriginPolicy } from './auth.js';

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

  // Set once listening: origins are judged against the address and port the server listens on.
  let origins: OriginPolicy = originPolicy(host, -1);
  const server = createServer((request, response) => {
    handleHttp(request, response, { token, dispatch, rendererDir, origins }).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { ok: false, error: { code: 'internal', message: String(error) } });
      else response.destroy();
    });
  });
  // Loaded when a server starts: the CLI's other commands share this bundle and never need it.
  const { WebSocketServer } = await import('ws');
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  server.on('upgrade', (request, socket, head) => {
    const url = requestUrl(request);
    if (url === null) {
      socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    if (!originAllowed(request, origins)) {
      socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    if (url.pathname !== '/ws' || !tokenMatches(token, tokenFromRequest(request))) {
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
  origins = originPolicy(host, port);
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

/** Nesting deeper than any API input needs; deeper inputs are refused before validation walks them. */
const MAX_MESSAGE_DEPTH = 64;

function serveSocket(ws: WebSocket, engine: Engine, dispatch: Dispatch): void {
  const send = (payload: unknown) => {
    if (ws.readyState !== ws.OPEN) return;
    try {
      ws.send(JSON.stringify(payload));
    } catch {
      // A reply that cannot be serialized (or a socket closing under us) must not end the process.
      ws.send(JSON.stringify({ id: null, result: { ok: false, error: { code: 'internal', message: 'The reply could not be sent.' } } }));
    }
  };
  const refuse = (id: string | number | null, message: string) => send({ id, result: { ok: false, error: { code: 'bad_message', message } } });
  const unsubscribe = engine.events.subscribe((event) => send({ event }));
  ws.on('close', unsubscribe);
  ws.on('error', unsubscribe);
  ws.on('message', (data) => {
    // Every frame gets an answer and nothing a client sends can throw out of this handler.
    try {
      let message: unknown;
      try {
        message = JSON.parse(String(data));
      } catch {
        return refuse(null, 'The message is not JSON.');
      }
      if (message === null || typeof message !== 'object' || Array.isArray(message)) {
        return refuse(null, 'The message must be a JSON object with "id", "method" and "input".');
      }
      const { id: rawId, method, input } = message as { id?: unknown; method?: unknown; input?: unknown };
      const id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : null;
      if (typeof method !== 'string') return refuse(id, 'The message has no method.');
      if (depthOver(input, MAX_MESSAGE_DEPTH)) return refuse(id, `The input is nested more than ${MAX_MESSAGE_DEPTH} levels deep.`);
      dispatch(method, input).then(
        (result) => send({ id, result }),
        () => send({ id, result: { ok: false, error: { code: 'internal', message: 'The call failed unexpectedly.' } } }),
      );
    } catch {
      refuse(null, 'The message could not be handled.');
    }
  });
}

/** True when a parsed JSON value nests deeper than `max` (checked without recursion, so it cannot overflow the stack). */
function depthOver(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(current as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}

interface HttpContext {
  token: string;
  dispatch: Dispatch;
  rendererDir: string;
  origins: OriginPolicy;
}

async function handleHttp(request: IncomingMessage, response: ServerResponse, ctx: HttpContext): Promise<void> {
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.setHeader('Referrer-Policy', 'no-referrer');
  const url = requestUrl(request);
  if (url === null) return sendJson(response, 400, { ok: false, error: { code: 'bad_path', message: 'The request target is not a valid URL.' } });
  if (url.pathname.startsWith('/api/')) {
    if (!originAllowed(request, ctx.origins)) return sendJson(response, 403, { ok: false, error: { code: 'bad_origin', message: 'Requests from other origins are refused.' } });
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
    if (depthOver(input, MAX_MESSAGE_DEPTH)) {
      return sendJson(response, 400, { ok: false, error: { code: 'bad_json', message: `The request body is nested more than ${MAX_MESSAGE_DEPTH} levels deep.` } });
    }
    const method = decodePath(url.pathname.slice('/api/'.length));
    if (method === null) return sendJson(response, 400, { ok: false, error: { code: 'bad_path', message: 'The request path has a malformed percent-encoding.' } });
    const result = await ctx.dispatch(method, input);
    return sendJson(response, result.ok ? 200 : statusFor(result.error.code), result);
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405).end();
    return;
  }
  const pathname = decodePath(url.pathname);
  if (pathname === null) {
    response.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    response.end('The request path has a malformed percent-encoding.');
    return;
  }
  serveStatic(pathname, response, ctx.rendererDir);
}

/** The request target as a URL, or null when it is not one (a raw client can send anything). */
function requestUrl(request: IncomingMessage): URL | null {
  try {
    return new URL(request.url ?? '/', 'http://placeholder');
  } catch {
    return null;
  }
}

/** A percent-decoded path, or null when its encoding is malformed (a client error, answered 400). */
function decodePath(encoded: string): string | null {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
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
  const relative = path.normalize(pathname).replace(/^([/\\])+/, '');
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
