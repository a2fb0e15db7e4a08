/**
 * Starts the real built CLI in serve mode as a child process with a fresh
 * data directory, and waits for the URL it prints. Used by integration and
 * end-to-end tests (never a mock server).
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'main', 'cli.js');

export interface ServeProcess {
  url: string;
  openUrl: string;
  token: string;
  dataDir: string;
  child: ResultPromise;
  stop(): Promise<void>;
}

export function freshDataDir(label = 'wb'): string {
  return mkdtempSync(path.join(os.tmpdir(), `${label}-`));
}

export interface StartServeOptions {
  dataDir?: string;
  env?: Record<string, string>;
  args?: string[];
}

export async function startServe(options: StartServeOptions = {}): Promise<ServeProcess> {
  const dataDir = options.dataDir ?? freshDataDir();
  const child = execa(process.execPath, [CLI, '--data-dir', dataDir, 'serve', '--port', '0', ...(options.args ?? [])], {
    env: { ...options.env },
    reject: false,
    buffer: false,
  });
  const openUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    let errText = '';
    const timer = setTimeout(() => reject(new Error(`serve did not print its URL in time. stderr: ${errText}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving at (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (errText += chunk.toString()));
    void child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`serve exited early (${result.exitCode}): ${errText}`));
    });
  });
  const token = new URL(openUrl).hash.replace('#token=', '');
  const url = openUrl.replace(/#.*$/, '');
  return {
    url,
    openUrl,
    token,
    dataDir,
    child,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([child, new Promise((resolve) => setTimeout(resolve, 8000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}

/** Calls the HTTP API of a serve process. */
export async function api<T = unknown>(server: Pick<ServeProcess, 'url' | 'token'>, method: string, input: unknown = {}): Promise<T> {
  const response = await fetch(`${server.url}api/${method}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(input),
  });
  const body = (await response.json()) as { ok: boolean; value?: T; error?: { code: string; message: string } };
  if (!body.ok) throw Object.assign(new Error(body.error?.message), { code: body.error?.code });
  return body.value as T;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 120_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
