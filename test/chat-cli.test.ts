/**
 * `workbench chat` through the built CLI on a bundle the native converter
 * wrote: --json is exactly one JSON document on stdout (the engine's log, with
 * --engine-log, goes to stderr); --raw feeds the text as is; usage errors
 * exit 2; a bundle the engine cannot run exits 1 with one sentence.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatResult } from '../main/common/bundleRun.js';
import { CLI } from './helpers/serve.js';
import { writeRunnableBundle } from './support/runnableBundle.js';

let dir: string;
let bundle: string;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), ...args], { maxBuffer: 1 << 24 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chat-cli-'));
  ({ bundle } = await writeRunnableBundle(dir, { kv: 64, prefill: [8] }));
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('workbench chat', () => {
  it('--json prints one document with the figures; the engine log goes to stderr', async () => {
    const { code, stdout, stderr } = await cli(['chat', '--bundle', bundle, '--prompt', 'Hello there', '--greedy', '--max-tokens', '5', '--json', '--engine-log']);
    expect(code, stderr).toBe(0);
    const result = ChatResult.parse(JSON.parse(stdout));
    expect(result).toMatchObject({ stopReason: 'max-tokens', tokens: 5, promptTokens: 10, engineVersion: '0.17.1', contextLength: 64 });
    expect(result.sampler).toMatchObject({ type: 'TOP_P', k: 1, source: 'override' });
    expect(result.promptText).toBe('<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n');
    expect(result.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(result.decodeTokensPerSecond).toBeGreaterThan(0);
    expect(result.loadSeconds).toBeGreaterThan(0);
    expect(stderr).toMatch(/XNNPACK/);
  }, 120_000);

  it('--raw feeds the text as is (Session API, no template)', async () => {
    const { code, stdout, stderr } = await cli(['chat', '--bundle', bundle, '--prompt', 'Hello there', '--raw', '--greedy', '--max-tokens', '4', '--json']);
    expect(code, stderr).toBe(0);
    const result = ChatResult.parse(JSON.parse(stdout));
    expect(result.promptText).toBe('Hello there');
    expect(result.promptSource).toMatch(/^raw/);
    expect(result.tokens).toBeGreaterThan(0);
  }, 120_000);

  it('a prompt longer than the context is one sentence with the way out (exit 3), not the engine\'s "Input token ids are too long"', async () => {
    const long = await cli(['chat', '--bundle', bundle, '--prompt', 'word '.repeat(80), '--greedy']);
    expect(long.code, long.stderr).toBe(3);
    expect(long.stderr).toMatch(/error: The message is \d+ tokens with its chat template, and this bundle's context holds 64, so there is no room for an answer\./);
    expect(long.stderr).toContain('hint: Send a shorter message; for longer prompts, convert with a larger context (KV cache length) and package again.');
    expect(long.stderr).not.toContain('Input token ids are too long');
  }, 120_000);

  it('refuses bad usage (exit 2) and explains an engine abort (exit 1)', async () => {
    expect((await cli(['chat', '--prompt', 'x'])).code).toBe(2);
    const bad = await cli(['chat', '--bundle', bundle, '--prompt', 'x', '--max-tokens', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-tokens must be a whole number from 1 to 32768, not "0".');
    const abort = await cli(['chat', '--bundle', '/work/shared/fixtures/litertlm/test_hf_tokenizer.litertlm', '--prompt', 'hi', '--json']);
    expect(abort.code).toBe(1);
    // --json on failure: one JSON error document (docs/cli.md).
    expect(JSON.parse(abort.stdout)).toMatchObject({ error: { code: expect.stringMatching(/^engine_|bundle_cannot_run/), message: expect.stringContaining('no LlmMetadata section') } });
    expect(abort.stderr).toContain('error: The engine aborted loading test_hf_tokenizer.litertlm: the bundle has no LlmMetadata section, which LiteRT-LM 0.17.1 requires.');
  }, 120_000);
});
