/**
 * Serve mode's boundary: loopback by default, remote only when asked, the
 * token and Origin checked on HTTP and WebSocket, inputs validated, static
 * files confined to the renderer folder.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createEngine, type Engine } from '../main/core/engine.js';
import { startServer, type RunningServer } from '../main/server/server.js';

let engine: Engine | null = null;
let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  await engine?.close();
  server = null;
  engine = null;
});

function rendererFixture(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'wb-renderer-'));
  mkdirSync(path.join(dir, 'assets'));
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(dir, 'assets', 'app.js'), 'console.log(1)');
  return dir;
}

async function start(options: Parameters<typeof startServer>[1] = {}): Promise<RunningServer> {
  engine = createEngine({ mode: 'serve', dataDir: mkdtempSync(path.join(os.tmpdir(), 'wb-serve-')) });
  server = await startServer(engine, { port: 0, rendererDir: rendererFixture(), ...options });
  return server;
}

const post = (s: RunningServer, method: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.url}api/${method}`, { method: 'POST', body, headers: { Authorization: `Bearer ${s.token}`, ...headers } });

function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; status: 'open' | number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => resolve({ ws, status: 'open' }));
    ws.on('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode ?? 0 }));
    ws.on('error', () => undefined);
  });
}

describe('serve mode', () => {
  it('refuses a non-loopback address unless remote access is allowed explicitly', async () => {
    engine = createEngine({ mode: 'serve', dataDir: mkdtempSync(path.join(os.tmpdir(), 'wb-serve-')) });
    await expect(startServer(engine, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({ code: 'remote_not_allowed' });
    server = await startServer(engine, { host: '0.0.0.0', port: 0, allowRemote: true, rendererDir: rendererFixture() });
    expect(server.host).toBe('0.0.0.0');
  });

  it('binds to 127.0.0.1 by default and prints a URL carrying a per-launch token in the fragment', async () => {
    const s = await start();
    expect(s.host).toBe('127.0.0.1');
    expect(s.openUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{20,}$/);
    const other = await startServer(engine!, { port: 0, rendererDir: rendererFixture() });
    expect(other.token).not.toBe(s.token);
    await other.close();
  });

  it('checks token and Origin on every API call, validates input and wraps errors', async () => {
    const s = await start();
    expect((await fetch(`${s.url}api/runs.list`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect((await post(s, 'runs.list', '{}', { Authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(s, 'runs.list', '{}', { Origin: 'https://attacker.example' })).status).toBe(403);
    expect((await post(s, 'runs.list', '{}', { Origin: s.url.replace(/\/$/, '') })).status).toBe(200);
    const ok = await post(s, 'runs.list', '{}');
    expect(await ok.json()).toEqual({ ok: true, value: { runs: [], total: 0 } });
    const unknown = await post(s, 'runs.teleport', '{}');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown_method');
    const invalid = await post(s, 'runs.get', '{"id":"seven"}');
    expect(invalid.status).toBe(400);
    const body = (await invalid.json()) as { ok: false; error: { code: string; message: string; details: { issues: { path: string[] }[] } } };
    expect(body.error.code).toBe('invalid_input');
    expect(body.error.details.issues[0]!.path).toEqual(['id']);
    const notJson = await post(s, 'runs.list', '{oops');
    expect(notJson.status).toBe(400);
    const missing = await post(s, 'runs.get', '{"id":999}');
    expect(((await missing.json()) as { error: { code: string; message: string } }).error).toEqual({ code: 'run_not_found', message: 'Run 999 does not exist.' });
    const tooLarge = await post(s, 'runs.list', JSON.stringify({ pad: 'x'.repeat(9 * 1024 * 1024) }));
    expect(tooLarge.status).toBe(413);
  });

  it('accepts a WebSocket only with the token and from the same origin, then answers calls and pushes events', async () => {
    const s = await start();
    const wsUrl = `${s.url.replace('http', 'ws')}ws`;
    expect((await openSocket(wsUrl)).status).toBe(401);
    expect((await openSocket(`${wsUrl}?token=nope`)).status).toBe(401);
    expect((await openSocket(`${wsUrl}?token=${s.token}`, { Origin: 'http://evil.example' })).status).toBe(403);
    const { ws, status } = await openSocket(`${wsUrl}?token=${s.token}`, { Origin: s.url.replace(/\/$/, '') });
    expect(status).toBe('open');
    const messages: { id?: number; result?: { ok: boolean; value?: { id: number } }; event?: { type: string } }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.send(JSON.stringify({ id: 1, method: 'runs.start', input: { plan: { stages: [{ kind: 'selftest', params: { durationSeconds: 0.3, logLines: 3 } }] } } }));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !messages.some((m) => m.event?.type === 'run' && JSON.stringify(m).includes('"succeeded"'))) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(messages.find((m) => m.id === 1)?.result).toEqual({ ok: true, value: { id: 1 } });
    expect(messages.some((m) => m.event?.type === 'stage')).toBe(true);
    expect(messages.some((m) => m.event?.type === 'logs')).toBe(true);
    ws.send('not json');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(JSON.stringify(messages.at(-1))).toContain('bad_message');
    ws.close();
  });

  it('serves the renderer with a CSP and never a file outside it', async () => {
    const s = await start();
    const index = await fetch(s.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await (await fetch(`${s.url}assets/app.js`)).text()).toBe('console.log(1)');
    for (const probe of ['..%2Fpackage.json', '%2e%2e/%2e%2e/etc/passwd', 'assets/../../secret']) {
      const response = await fetch(`${s.url}${probe}`);
      expect(await response.text()).toContain('<title>app</title>');
    }
  });
});
