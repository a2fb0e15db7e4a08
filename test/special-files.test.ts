/**
 * Special files never hang and folders are never a stack trace (issue 13,
 * item 10): a named pipe, a socket or a device where a file is expected is
 * refused at once with one sentence, in the CLI and in serve mode (whose
 * thread pool stays free for other calls); a folder where a file is expected
 * is one sentence and exit 3; a truncated history.sqlite is one sentence
 * naming the file and what to do, in the CLI, serve mode and `npm start`.
 * Real child processes on real files, FIFOs and sockets made by the test.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { History } from '../main/core/history/history.js';
import { api, CLI, freshDataDir, REPO_ROOT, startServe, type ServeProcess } from './helpers/serve.js';
import { writeQwenModelFolder } from './support/fidelityModels.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';

let work: string;
let fifo: string;
let socketPath: string;
let folder: string;
let model: string;
let tflite: string;
let socketServer: net.Server;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'wb-special-'));
  fifo = path.join(work, 'pipe.litertlm');
  execFileSync('mkfifo', [fifo]);
  socketPath = path.join(work, 'sock.tflite');
  socketServer = net.createServer().listen(socketPath);
  await new Promise((resolve) => socketServer.once('listening', resolve));
  folder = path.join(work, 'a-folder.litertlm');
  mkdirSync(folder);
  model = writeQwenModelFolder(path.join(work, 'model'));
  tflite = path.join(work, 'model.tflite');
  await writeSyntheticTflite(tflite, { kvCacheMaxLen: 1024 });
});
afterAll(() => socketServer.close());

function cli(args: string[], dataDir = freshDataDir('wb-special-cli')) {
  return execa(process.execPath, [CLI, '--data-dir', dataDir, ...args], { reject: false, timeout: 20_000, cwd: work });
}

function expectRefusal(result: { exitCode?: number; stderr: string; timedOut?: boolean }, pattern: RegExp): void {
  expect(result.timedOut ?? false).toBe(false);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at |EISDIR|ENOTDIR/);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.exitCode).toBe(3);
}

describe('special files in the CLI', () => {
  it('refuses a named pipe, a socket or a device at once wherever a file is read', async () => {
    const cases: [string[], string][] = [
      [['package', '--tflite', fifo, '--model', model, '--out', 'o.litertlm'], 'named pipe'],
      [['package', '--tflite', socketPath, '--model', model, '--out', 'o.litertlm'], 'socket'],
      [['package', '--tflite', '/dev/zero', '--model', model, '--out', 'o.litertlm'], 'character device'],
      [['package', '--tflite', tflite, '--model', model, '--out', 'o.litertlm', '--metadata', fifo], 'named pipe'],
      [['package', '--fix-metadata', fifo, '--model', model, '--out', 'o.litertlm'], 'named pipe'],
      [['check', '--bundle', fifo, '--model', model], 'named pipe'],
      [['run', '--plan', fifo], 'named pipe'],
      [['inspect', fifo], 'named pipe'],
    ];
    for (const [args, kind] of cases) {
      // A hang on the pipe would never return: the test's limit catches it, no clock needed.
      const result = await cli(args);
      expectRefusal(result, new RegExp(`is a ${kind}`));
    }
  }, 120_000);

  it('says a folder is a folder, with exit 3, wherever a file is expected', async () => {
    const cases: string[][] = [
      ['package', '--tflite', folder, '--model', model, '--out', 'o.litertlm'],
      ['package', '--fix-metadata', folder, '--model', model, '--out', 'o.litertlm'],
      ['check', '--bundle', folder, '--model', model],
      ['package', '--tflite', tflite, '--model', model, '--out', 'o.litertlm', '--metadata', folder],
      ['run', '--plan', folder],
    ];
    for (const args of cases) expectRefusal(await cli(args), /a-folder\.litertlm is a folder, not a file\./);
  }, 120_000);

  it('says a model file given as --model is a file, not that a folder is missing', async () => {
    const result = await cli(['package', '--tflite', tflite, '--model', tflite, '--out', 'o.litertlm']);
    expectRefusal(result, /model\.tflite is a file; --model names the Hugging Face model folder/);
    expect(result.stderr).not.toMatch(/does not exist/);
  }, 60_000);

  it('turns run --plan errors into sentences, not errno text', async () => {
    expectRefusal(await cli(['run', '--plan', 'missing.json']), /^error: The plan file missing\.json does not exist\.$/m);
    writeFileSync(path.join(work, 'list.json'), '[1, 2]');
    expectRefusal(await cli(['run', '--plan', 'list.json']), /The plan file list\.json must hold a JSON object with "stages"/);
  }, 60_000);
});

describe('special files in serve mode', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe();
  }, 30_000);
  afterAll(async () => {
    await serve.stop();
  });

  it('refuses pipes at once and keeps its thread pool free for other calls', async () => {
    // More pipes than libuv has threads (4): a blocking open on each would leave none for the last call.
    const refusals = await Promise.all(
      Array.from({ length: 6 }, () => api(serve, 'inspect.open', { path: fifo }).then(() => null, (error: Error & { code?: string }) => error)),
    );
    for (const error of refusals) {
      expect(error?.code).toBe('not_a_file');
      expect(error?.message).toMatch(/pipe\.litertlm is a named pipe \(FIFO\), not a file that can be read\./);
    }
    const summary = await api<{ format: string }>(serve, 'inspect.open', { path: tflite });
    expect(summary.format).toBe('tflite');
  }, 30_000);
});

describe('a damaged history.sqlite', () => {
  function damagedDataDir(): string {
    const dataDir = freshDataDir('wb-damaged');
    const file = path.join(dataDir, 'history.sqlite');
    // A real history with its schema (read-only commands never create one), then cut short.
    new History(file).close();
    writeFileSync(file, readFileSync(file).subarray(0, 5000));
    return dataDir;
  }
  const sentence = /^error: The history database \S+history\.sqlite is damaged \(.*\); move it aside .* to start a new, empty history, or start with another --data-dir\.$/m;

  it('is one sentence naming the file and what to do, in the CLI, serve mode and npm start', async () => {
    const inCli = await cli(['runs', 'list'], damagedDataDir());
    expectRefusal(inCli, sentence);
    const inServe = await cli(['serve', '--port', '0'], damagedDataDir());
    expectRefusal(inServe, sentence);
    // `npm start` without an Electron binary (this machine) runs serve mode from scripts/start.mjs.
    const started = await execa(process.execPath, [path.join(REPO_ROOT, 'scripts', 'start.mjs'), '--data-dir', damagedDataDir(), '--port', '0'], { reject: false, timeout: 20_000 });
    expect(started.timedOut).toBe(false);
    expect(started.stderr).toMatch(sentence);
    expect(started.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(started.exitCode).toBe(3);
  }, 90_000);
});
