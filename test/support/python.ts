/**
 * Test helpers for Python stages: which interpreter to use (Debian's, which
 * has numpy/torch, else any python3), and a runner that collects a stage's
 * protocol events from a real child process.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { StageEvent } from '../../main/common/stageProtocol.js';
import { LineSplitter, parseStageLine } from '../../main/core/runner/lineProtocol.js';

export const REPO = path.resolve(import.meta.dirname, '..', '..');
export const FAKE_CONVERTER = path.join(REPO, 'test', 'fixtures', 'fake_converter');
export const FAKE_TORCH = path.join(REPO, 'test', 'fixtures', 'fake_torch');

export const TEST_PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export interface StageOutcome {
  code: number | null;
  events: StageEvent[];
  text: string[];
  stderr: string;
}

/** Runs a stage command to completion and splits stdout into protocol events and plain text. */
export function runStageProcess(file: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<StageOutcome> {
  return new Promise((resolve) => {
    const events: StageEvent[] = [];
    const text: string[] = [];
    const splitter = new LineSplitter((line) => {
      const parsed = parseStageLine(line);
      if (parsed.kind === 'event') events.push(parsed.event);
      else text.push(parsed.text);
    });
    const child = execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' }, (error, _stdout, stderr) => {
      splitter.end();
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, events, text, stderr: stderr.toString('utf8') });
    });
    child.stdout?.on('data', (chunk: Buffer) => splitter.push(chunk));
  });
}

/** Whether an interpreter can import a module (decides whether the fake torch is needed). */
export function canImport(python: string, module: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', `import ${module}`], { timeout: 60_000 }, (error) => resolve(!error));
  });
}
