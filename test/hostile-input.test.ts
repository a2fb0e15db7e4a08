/**
 * Hostile input that used to break things (issue 18, item 10), each now one
 * clear error: a chat template that renders forever, special files where a
 * model's files belong, a bundle with a huge sparse tail, a truncated or
 * bit-flipped .tflite, and --json failures that print exactly one JSON error
 * document. Real built CLI and serve processes on real files the test makes
 * (mkfifo, symlinks to /dev/zero, sparse files, damaged copies of a real
 * converted model); a crash would end the process the test talks to.
 */
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmMetadataJson } from '../main/common/formats.js';
import { FbTable, WindowByteBuffer } from '../main/core/formats/flatbuffer.js';
import { readLlmMetadata } from '../main/core/formats/litertlm.js';
import { TFLITE_FIELDS } from '../main/core/formats/tflite.js';
import { convertNative } from '../main/core/nativeConvert/convertModel.js';
import { api, CLI, freshDataDir, startServe, waitFor, type ServeProcess } from './helpers/serve.js';
import { withMetadata, writeTestBundle } from './support/bundles.js';
import { writeQwenModelFolder } from './support/fidelityModels.js';
import { writeSyntheticTflite } from './support/syntheticTflite.js';
import { writeTinyDecoder } from './support/tinyDecoder.js';
import { writeRunnableBundle } from './support/runnableBundle.js';

/** Builds an array of a billion numbers: a V8 fatal "heap out of memory" when rendered on the caller's thread. */
const ENDLESS_TEMPLATE = '{% for i in range(1000000000) %}x{% endfor %}';
/** Runs long without building anything big: only the deadline stops it. */
const SLOW_TEMPLATE = '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}hi';

let work: string;
let goodModel: string;
let endlessModel: string;
let tflite: string;
let goodBundle: string;
let endlessBundle: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'wb-hostile-'));
  goodModel = writeQwenModelFolder(path.join(work, 'good-model'));
  endlessModel = writeQwenModelFolder(path.join(work, 'endless-model'), { chatTemplate: ENDLESS_TEMPLATE });
  tflite = path.join(work, 'model.tflite');
  await writeSyntheticTflite(tflite, { kvCacheMaxLen: 1024 });
  goodBundle = await writeTestBundle(path.join(work, 'good.litertlm'), goodModel, {
    metadata: { stopTokens: [{ tokenIds: { ids: [151645] } }], maxNumTokens: 1024 },
    tflite: { kvCacheMaxLen: 1024 },
  });
  const metadata = (await readLlmMetadata(goodBundle)) as LlmMetadataJson;
  endlessBundle = await withMetadata(goodBundle, path.join(work, 'endless.litertlm'), { ...metadata, jinjaPromptTemplate: SLOW_TEMPLATE });
}, 120_000);

export function cli(args: string[], options: { dataDir?: string; timeout?: number } = {}) {
  return execa(process.execPath, [CLI, '--data-dir', options.dataDir ?? freshDataDir('wb-hostile-cli'), ...args], {
    reject: false,
    timeout: options.timeout ?? 240_000,
    cwd: work,
  });
}

/** A refusal: no crash, no stack trace, the sentence on stderr, the exit code given. */
function expectSentence(result: { exitCode?: number; stderr: string; timedOut?: boolean; signal?: string | null }, pattern: RegExp, exitCode: number): void {
  expect(result.timedOut ?? false).toBe(false);
  expect(result.signal ?? null).toBeNull();
  expect(result.stderr).not.toMatch(/FATAL ERROR|heap out of memory|internal error|\n\s+at /);
  expect(result.stderr).toMatch(pattern);
  expect(result.exitCode).toBe(exitCode);
}

describe('a chat template that renders forever', () => {
  const stopped = /chat template \(tokenizer_config\.json\) was stopped: it did not finish within 2 s and 256 MiB of memory/;

  it('is one sentence from package, check and --fix-metadata for a model folder, not a V8 fatal error', async () => {
    const out = path.join(work, 'never.litertlm');
    expectSentence(await cli(['package', '--tflite', tflite, '--model', endlessModel, '--out', out]), stopped, 3);
    expectSentence(await cli(['check', '--bundle', goodBundle, '--model', endlessModel]), stopped, 3);
    expectSentence(await cli(['package', '--fix-metadata', goodBundle, '--model', endlessModel, '--out', out]), stopped, 3);
  }, 600_000);

  it('in a bundle fails check and is refused by chat before the engine starts', async () => {
    const checked = await cli(['check', '--bundle', endlessBundle, '--model', goodModel]);
    expect(checked.signal ?? null).toBeNull();
    expect(checked.stdout).toMatch(/FAIL {2}The bundle carries a prompt format\n.*jinja_prompt_template was stopped: it did not finish within 2 s/);
    expect(checked.exitCode).toBe(1);
    expectSentence(await cli(['chat', '--bundle', endlessBundle, '--prompt', 'hi', '--max-tokens', '2']), /^error: The bundle's jinja_prompt_template was stopped: .*package --fix-metadata/m, 3);
    // The fix replaces it with the model's own template, and the fixed bundle passes that check.
    const fixed = path.join(work, 'fixed.litertlm');
    const fix = await cli(['package', '--fix-metadata', endlessBundle, '--model', goodModel, '--out', fixed]);
    expect(fix.exitCode, fix.stderr).toBe(0);
    expect(fix.stdout).toMatch(/PASS {2}The bundle carries a prompt format/);
  }, 600_000);

  describe('in serve mode', () => {
    let serve: ServeProcess;
    beforeAll(async () => {
      serve = await startServe();
    }, 60_000);
    afterAll(async () => {
      await serve.stop();
    });

    it('package.deriveMetadata refuses it and the server keeps answering', async () => {
      const refusals = await Promise.all(
        [endlessModel, endlessModel].map((modelDir) => api(serve, 'package.deriveMetadata', { modelDir, tflitePath: tflite }).then(() => null, (error: Error & { code?: string }) => error)),
      );
      for (const error of refusals) {
        expect(error?.code).toBe('template_too_costly');
        expect(error?.message).toMatch(stopped);
      }
      expect(serve.child.exitCode).toBeNull();
      const derived = await api<{ metadata: LlmMetadataJson }>(serve, 'package.deriveMetadata', { modelDir: goodModel, tflitePath: tflite });
      expect(derived.metadata.jinjaPromptTemplate).toContain('<|im_start|>');
      await api(serve, 'runs.list', {});
    }, 300_000);
  });
});


describe('special files inside the folders and files a user names', () => {
  let tiny: string;
  let fifoConfig: string;
  let zeroConfig: string;
  let fifoShard: string;
  let fifoPrompts: string;

  /** A copy of the tiny model with one file replaced by a FIFO or a link to /dev/zero. */
  function variant(name: string, file: string, kind: 'fifo' | 'zero'): string {
    const dir = path.join(work, name);
    cpSync(tiny, dir, { recursive: true });
    rmSync(path.join(dir, file));
    if (kind === 'fifo') execFileSync('mkfifo', [path.join(dir, file)]);
    else symlinkSync('/dev/zero', path.join(dir, file));
    return dir;
  }

  beforeAll(async () => {
    tiny = await writeTinyDecoder(path.join(work, 'tiny'), { family: 'qwen2', vocab: 256, hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 64, dtype: 'F32' });
    fifoConfig = variant('fifo-config', 'config.json', 'fifo');
    zeroConfig = variant('zero-config', 'config.json', 'zero');
    fifoShard = variant('fifo-shard', 'model.safetensors', 'fifo');
    fifoPrompts = path.join(work, 'prompts.jsonl');
    execFileSync('mkfifo', [fifoPrompts]);
  }, 120_000);

  it('convert refuses a FIFO config.json, a config.json linked to /dev/zero and a FIFO shard at once, exit 3', async () => {
    const cases: [string, RegExp][] = [
      [fifoConfig, /fifo-config\/config\.json is a named pipe \(FIFO\), not a file that can be read\./],
      [zeroConfig, /zero-config\/config\.json is a character device, not a file that can be read\./],
      [fifoShard, /fifo-shard\/model\.safetensors is a named pipe \(FIFO\), not a file that can be read\./],
    ];
    for (const [model, sentence] of cases) {
      expectSentence(await cli(['convert', '--model', model, '--out', path.join(work, 'never.tflite')], { timeout: 120_000 }), sentence, 3);
    }
  }, 600_000);

  it('evaluate refuses a FIFO --prompts, a FIFO shard and a device as the bundle, exit 3', async () => {
    const cases: [string[], RegExp][] = [
      [['--model', goodModel, '--bundle', goodBundle, '--prompts', fifoPrompts], /prompts\.jsonl is a named pipe \(FIFO\)/],
      [['--model', fifoShard, '--bundle', goodBundle], /fifo-shard\/model\.safetensors is a named pipe \(FIFO\)/],
      [['--model', goodModel, '--bundle', '/dev/zero'], /\/dev\/zero is a character device/],
    ];
    for (const [args, sentence] of cases) expectSentence(await cli(['evaluate', ...args], { timeout: 120_000 }), sentence, 3);
  }, 600_000);

  it('serve mode refuses four such conversions, keeps answering, and stops on SIGTERM', async () => {
    const serve = await startServe();
    try {
      // More runs than libuv has file threads (4): a blocking read of each FIFO would leave none.
      const started = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          api(serve, 'runs.start', { plan: { name: `fifo ${i}`, stages: [{ kind: 'convert', params: { modelDir: i % 2 ? zeroConfig : fifoConfig, outDir: path.join(work, `out-${i}`), route: 'native' } }] } }).then(
            () => null,
            (error: Error & { code?: string }) => error,
          ),
        ),
      );
      for (const error of started) expect(error?.code).toBe('not_a_file');
      const evaluation = await api(serve, 'runs.start', { plan: { name: 'fifo prompts', stages: [{ kind: 'evaluate', params: { modelDir: goodModel, bundlePath: goodBundle, promptsFile: fifoPrompts } }] } }).then(
        () => null,
        (error: Error & { code?: string }) => error,
      );
      expect(evaluation?.code).toBe('not_a_file');
      await api(serve, 'runs.list', {});
      const summary = await api<{ format: string }>(serve, 'inspect.open', { path: tflite });
      expect(summary.format).toBe('tflite');
    } finally {
      serve.child.kill('SIGTERM');
      const exited = await waitFor(async () => serve.child.exitCode !== null || serve.child.signalCode !== null, 'serve to stop on SIGTERM', 120_000);
      expect(exited).toBe(true);
      expect(serve.child.signalCode === 'SIGKILL').toBe(false);
    }
  }, 600_000);
});

describe('--json on failure', () => {
  it('prints exactly one JSON error document on stdout for every command, with the exit code of the failure', async () => {
    const junk = path.join(work, 'junk.bin');
    writeFileSync(junk, 'garbage!');
    const cases: [string[], number, string][] = [
      [['inspect', path.join(work, 'missing.tflite')], 3, 'file_not_found'],
      [['inspect', junk], 3, 'unknown_format'],
      [['inspect', '--bogus'], 2, 'usage'],
      [['chat', '--bundle', junk, '--prompt', 'hi'], 3, 'truncated_file'],
      [['chat', '--bundle', goodBundle], 2, 'usage'],
      [['estimate', '--model', path.join(work, 'nowhere')], 3, 'file_not_found'],
      [['estimate', '--model', goodModel, '--context', 'lots'], 2, 'usage'],
      [['check', '--bundle', junk, '--model', goodModel], 3, 'truncated_file'],
      [['check', '--model', goodModel], 2, 'usage'],
      [['package', '--tflite', junk, '--model', goodModel, '--out', path.join(work, 'x.litertlm')], 3, 'bad_magic'],
      [['package', '--tflite', tflite, '--model', path.join(work, 'nowhere'), '--out', path.join(work, 'x.litertlm')], 3, 'file_not_found'],
      [['package', '--fix-metadata', junk, '--model', goodModel, '--out', path.join(work, 'x.litertlm')], 3, 'truncated_file'],
      [['runs', 'show', '999'], 3, 'run_not_found'],
      [['nope'], 2, 'usage'],
    ];
    for (const [args, exitCode, code] of cases) {
      const result = await cli([...args, '--json'], { timeout: 120_000 });
      const what = args.join(' ');
      expect(result.exitCode, what).toBe(exitCode);
      // Exactly one document: the whole of stdout parses, as an object with an error.
      const document = JSON.parse(result.stdout) as { error?: { code?: string; message?: string } };
      expect(document.error?.code, what).toBe(code);
      expect(document.error?.message, what).toMatch(/\S/);
      expect(result.stderr, what).not.toMatch(/internal error|\n\s+at /);
    }
  }, 900_000);
});

describe('a truncated or bit-flipped .tflite', () => {
  let converted: string;
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await writeTinyDecoder(path.join(work, 'tiny-for-tflite'), { family: 'qwen2', vocab: 256, hidden: 32, layers: 2, heads: 2, kvHeads: 1, intermediate: 64, dtype: 'F32' });
    cpSync(path.join(goodModel, 'tokenizer.json'), path.join(modelDir, 'tokenizer.json'));
    cpSync(path.join(goodModel, 'tokenizer_config.json'), path.join(modelDir, 'tokenizer_config.json'));
    converted = path.join(work, 'converted.tflite');
    await convertNative({ modelDir, outPath: converted, quantize: 'none', kvCacheMaxLen: 64, prefillSeqLens: [8], kvLayout: 'btnh' });
  }, 300_000);

  /** A copy of the converted model with `change` applied to its bytes. */
  function damaged(name: string, change: (bytes: Buffer, model: FbTable) => Buffer): string {
    const bytes = readFileSync(converted);
    const out = path.join(work, name);
    writeFileSync(out, change(Buffer.from(bytes), FbTable.root(WindowByteBuffer.fromBytes(new Uint8Array(bytes)))));
    return out;
  }

  it('is refused by inspect, package and check with one sentence (exit 3); the intact model passes inspect', async () => {
    const F = TFLITE_FIELDS;
    expect((await cli(['inspect', converted])).exitCode).toBe(0);
    const truncated = damaged('truncated.tflite', (bytes) => bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    // A flipped high bit in the offset of the first weight buffer stored after the flatbuffer.
    const farOffset = damaged('far-offset.tflite', (bytes, model) => {
      const buffer = model.tables(F.Model.buffers).find((b) => Number(b.uint64(F.Buffer.offset)) > 1)!;
      bytes[buffer.pos + buffer.offset(F.Buffer.offset) + 4]! ^= 0x40;
      return bytes;
    });
    // A flipped bit in a tensor's buffer index.
    const badIndex = damaged('bad-index.tflite', (bytes, model) => {
      const tensor = model.tables(F.Model.subgraphs)[0]!.tables(F.SubGraph.tensors).find((t) => t.has(F.Tensor.buffer))!;
      bytes[tensor.pos + tensor.offset(F.Tensor.buffer) + 2]! ^= 0x10;
      return bytes;
    });
    const cases: [string, RegExp][] = [
      [truncated, /truncated\.tflite is (cut short or damaged: weight buffer \d+ lies at bytes \d+–\d+, but the model has \d+ bytes|truncated: )/],
      [farOffset, /far-offset\.tflite is cut short or damaged: weight buffer \d+ lies at bytes/],
      [badIndex, /bad-index\.tflite is not a valid TFLite model: tensor \d+ of subgraph 0 uses buffer \d+, but the model has \d+ buffers\./],
    ];
    for (const [file, sentence] of cases) {
      expectSentence(await cli(['inspect', file]), sentence, 3);
      expectSentence(await cli(['package', '--tflite', file, '--model', modelDir, '--out', path.join(work, 'never.litertlm')]), sentence, 3);
      expectSentence(await cli(['check', '--bundle', file, '--model', goodModel, '--metadata', '{"stopTokens":[{"tokenIds":{"ids":[151645]}}]}']), sentence, 3);
    }
  }, 900_000);
});

describe('a bundle with a 50 GB sparse tail', () => {
  it('chat and evaluate read only the sections the header names', async () => {
    const { bundle, modelDir } = await writeRunnableBundle(path.join(work, 'runnable'));
    const sparse = path.join(work, 'sparse-tail.litertlm');
    cpSync(bundle, sparse);
    // A real sparse file: 50 GiB of holes after the real bundle (no disk used).
    execFileSync('truncate', ['-s', '+50G', sparse]);
    const chat = await cli(['chat', '--bundle', sparse, '--prompt', 'hi', '--max-tokens', '2', '--json'], { timeout: 300_000 });
    expect(chat.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(chat.exitCode, chat.stderr).toBe(0);
    const reply = JSON.parse(chat.stdout) as { tokens: number };
    expect(reply.tokens).toBeGreaterThan(0);
    const prompts = path.join(work, 'one-prompt.jsonl');
    writeFileSync(prompts, `${JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })}\n`);
    const evaluation = await cli(['evaluate', '--model', modelDir, '--bundle', sparse, '--prompts', prompts, '--max-tokens', '2', '--json'], { timeout: 600_000 });
    expect(evaluation.stderr).not.toMatch(/internal error|\n\s+at /);
    const result = JSON.parse(evaluation.stdout) as { summary: { prompts: number } | null };
    expect(result.summary?.prompts, evaluation.stdout.slice(0, 400)).toBeGreaterThanOrEqual(1);
  }, 900_000);
});

describe('metadata and options that used to mean something else', () => {
  it("--prefill '' is refused, not taken for the defaults (exit 2)", async () => {
    const sentence = /^error: --prefill needs at least one length \(for example --prefill 8,64,128\); leave it out for the defaults\.$/m;
    expectSentence(await cli(['convert', '--model', goodModel, '--out', path.join(work, 'p.tflite'), '--prefill', '']), sentence, 2);
    expectSentence(await cli(['estimate', '--model', goodModel, '--prefill', '']), sentence, 2);
  }, 300_000);

  it('package --metadata with an empty .pb is refused, naming the fix, and writes no bundle', async () => {
    const empty = path.join(work, 'empty.pb');
    writeFileSync(empty, '');
    const out = path.join(work, 'no-stop.litertlm');
    expectSentence(await cli(['package', '--tflite', tflite, '--model', goodModel, '--out', out, '--metadata', empty]), /A bundle must have stop tokens .*add the model's EOS and end-of-turn ids as stopTokens/, 3);
    expect(() => readFileSync(out)).toThrow();
  }, 300_000);

  it('max_num_tokens -1 fails check and chat refuses it, with the rule the packager applies', async () => {
    const metadata = (await readLlmMetadata(goodBundle)) as LlmMetadataJson;
    const negative = await withMetadata(goodBundle, path.join(work, 'negative-context.litertlm'), { ...metadata, maxNumTokens: -1 });
    const checked = await cli(['check', '--bundle', negative, '--model', goodModel]);
    expect(checked.stdout).toMatch(/FAIL {2}max_num_tokens matches the KV-cache length\n\s+max_num_tokens must be a whole number of 1 or more, not -1\./);
    expect(checked.exitCode).toBe(1);
    expectSentence(await cli(['chat', '--bundle', negative, '--prompt', 'hi']), /^error: negative-context\.litertlm cannot be run as packaged: max_num_tokens must be a whole number of 1 or more, not -1; fix its metadata/m, 3);
    expectSentence(
      await cli(['package', '--tflite', tflite, '--model', goodModel, '--out', path.join(work, 'neg.litertlm'), '--metadata', '{"maxNumTokens":-1}']),
      /max_num_tokens must be a whole number of 1 or more, not -1\./,
      3,
    );
  }, 300_000);
});

describe('a host under ~1.2 GiB', () => {
  it('is refused by the preflight with the rule the guard applies (the 1 GiB available-RAM floor), not admitted and then always stopped', async () => {
    const tiny = await writeTinyDecoder(path.join(work, 'tiny-small-host'), { family: 'qwen2', vocab: 256, hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 64, dtype: 'F32' });
    const result = await execa(process.execPath, [CLI, '--data-dir', freshDataDir('wb-small-host'), 'convert', '--model', tiny, '--out', path.join(work, 'small-host.tflite'), '--kv', '128', '--prefill', '8', '--json'], {
      reject: false,
      timeout: 300_000,
      env: { WORKBENCH_SIMULATE_HOST_RAM: '1100M' },
    });
    const document = JSON.parse(result.stdout) as { status: string; error: { code: string; message: string } };
    expect(document.status, result.stdout.slice(0, 300)).toBe('refused');
    expect(document.error.code).toBe('predicted_oom');
    // 1100 MiB less the guard's 1024 MiB floor.
    expect(document.error.message).toMatch(/more than the 76\.0 MiB this host can give it/);
    expect(result.exitCode).toBe(5);
  }, 300_000);
});

describe('long file names', () => {
  it('accepts a legal 240-character name for convert and package, and refuses an over-long one with one sentence (exit 3)', async () => {
    const tiny = await writeTinyDecoder(path.join(work, 'tiny-long-names'), { family: 'qwen2', vocab: 256, hidden: 32, layers: 1, heads: 2, kvHeads: 1, intermediate: 64, dtype: 'F32' });
    const legal = path.join(work, `${'a'.repeat(233)}.tflite`); // 240 characters
    const converted = await cli(['convert', '--model', tiny, '--out', legal, '--kv', '64', '--prefill', '8'], { timeout: 300_000 });
    expect(converted.exitCode, converted.stderr).toBe(0);
    expect(readFileSync(legal).subarray(4, 8).toString()).toBe('TFL3');
    const bundle = path.join(work, `${'b'.repeat(231)}.litertlm`); // 240 characters
    const packaged = await cli(['package', '--tflite', tflite, '--model', goodModel, '--out', bundle]);
    expect(packaged.exitCode, packaged.stderr).toBe(0);
    const tooLong = /^error: The file name c{40}… is 25[6-9] bytes long, and file names can be at most 255: choose a shorter name\.$/m;
    expectSentence(await cli(['convert', '--model', tiny, '--out', path.join(work, `${'c'.repeat(250)}.tflite`)]), tooLong, 3);
    expectSentence(await cli(['package', '--tflite', tflite, '--model', goodModel, '--out', path.join(work, `${'c'.repeat(250)}.litertlm`)]), tooLong, 3);
  }, 600_000);
});
