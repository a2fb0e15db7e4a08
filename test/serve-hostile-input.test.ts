/**
 * Serve mode survives whatever a client sends (issue 13, item 9): WebSocket
 * frames that are not call objects get an error reply, malformed
 * percent-encodings and request targets are 400s, and a DNS-rebinding page
 * (whose Host and Origin agree with each other but not with the address the
 * server listens on) is refused before its token is even looked at. Runs the
 * real built CLI, so a crash would end the process the test talks to.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServe, type ServeProcess } from './helpers/serve.js';

let serve: ServeProcess;
beforeAll(async () => {
  serve = await startServe();
}, 30_000);
afterAll(async () => {
  await serve.stop();
});

const port = () => Number(new URL(serve.url).port);

/** A raw HTTP request, so the Host header is whatever the test says (fetch will not let it be set). */
function request(options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: port(), method: options.method ?? 'POST', path: options.path, headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body ?? '');
  });
}

async function stillAnswers(): Promise<void> {
  expect(serve.child.exitCode).toBeNull();
  const response = await request({ path: '/api/runs.list', headers: { Authorization: `Bearer ${serve.token}` }, body: '{}' });
  expect(response.status).toBe(200);
}

function socket(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${serve.url.replace(/^http/, 'ws')}ws?token=${serve.token}`);
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

/** Sends one raw frame and waits for the first reply that is not an event. */
function reply(ws: WebSocket, frame: string): Promise<{ id: unknown; result: { ok: boolean; error?: { code: string; message: string } } }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const message = JSON.parse(String(data));
      if ('event' in message) return;
      ws.off('message', onMessage);
      resolve(message);
    };
    ws.on('message', onMessage);
    ws.send(frame);
  });
}

describe('serve mode against hostile input', () => {
  it('answers every WebSocket frame that is not a call with an error and keeps serving', async () => {
    const ws = await socket();
    try {
      const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
      for (const frame of ['null', '42', '"text"', '[1,2,3]', 'true', '{}', '{"id":1}', `{"id":2,"method":"runs.list","input":${deep(5000)}}`, deep(200_000), 'not json']) {
        const answer = await reply(ws, frame);
        expect(answer.result.ok, frame.slice(0, 40)).toBe(false);
        expect(answer.result.error!.message).toMatch(/\.$/);
      }
      const ok = await reply(ws, JSON.stringify({ id: 7, method: 'runs.list', input: {} }));
      expect(ok).toMatchObject({ id: 7, result: { ok: true } });
    } finally {
      ws.close();
    }
    await stillAnswers();
  });

  it('answers a malformed percent-encoding or request target with 400, never 500', async () => {
    const auth = { Authorization: `Bearer ${serve.token}` };
    const api = await request({ path: '/api/runs.%E0%A4%A', headers: auth, body: '{}' });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body).error.message).toMatch(/percent-encoding/);
    expect((await request({ method: 'GET', path: '/%E0%A4%A' })).status).toBe(400);
    const deepBody = await request({ path: '/api/runs.list', headers: auth, body: `{"status":${'['.repeat(5000)}${']'.repeat(5000)}}` });
    expect(deepBody.status).toBe(400);
    // An absolute-form target that is not a URL, on a plain request and on an upgrade.
    for (const upgrade of [false, true]) {
      const raw = await new Promise<string>((resolve) => {
        const client = net.connect(port(), '127.0.0.1', () => {
          client.write(
            `GET http://[::1 HTTP/1.1\r\nHost: 127.0.0.1\r\n${upgrade ? 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' : ''}\r\n`,
          );
        });
        let text = '';
        client.on('data', (chunk) => (text += chunk.toString()));
        client.on('close', () => resolve(text));
        client.on('error', () => resolve(text));
        setTimeout(() => client.destroy(), 2000);
      });
      expect(raw, `upgrade=${upgrade}`).toMatch(/^HTTP\/1\.1 400/);
    }
    await stillAnswers();
  });

  it('refuses a DNS-rebinding page before checking its token, and accepts its own pages on any loopback name', async () => {
    const rebinding = { Host: `attacker.example:${port()}`, Origin: `http://attacker.example:${port()}` };
    const withToken = await request({ path: '/api/runs.list', headers: { ...rebinding, Authorization: `Bearer ${serve.token}` }, body: '{}' });
    expect(withToken.status).toBe(403);
    const withoutToken = await request({ path: '/api/runs.list', headers: rebinding, body: '{}' });
    expect(withoutToken.status).toBe(403);
    const upgrade = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port()}/ws?token=${serve.token}`, { headers: rebinding });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(upgrade).toBe(403);
    // An SSH port forward serves the page as http://localhost:<another port>.
    const forwarded = { Host: 'localhost:18080', Origin: 'http://localhost:18080', Authorization: `Bearer ${serve.token}` };
    expect((await request({ path: '/api/runs.list', headers: forwarded, body: '{}' })).status).toBe(200);
    await stillAnswers();
  });
});
