/**
 * The fidelity analyzer end to end through the built artifacts, as real
 * child processes: `workbench check` (exit code 0 / 1, --strict, --json,
 * --markdown) on bundles packaged by `workbench package`, and the verify
 * stage script (report stored as result + artifacts; the numeric sub-step
 * asked for without its Python packages ends with a clear error after the
 * checklist). Needs `npm run build` (the test command builds first).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliContext } from '../main/cli/context.js';
import { runFixMetadata } from '../main/cli/commands/check.js';
import { FidelityReport } from '../main/common/fidelity.js';
import type { LlmMetadataJson } from '../main/common/formats.js';
import { distPath, nodeStageScript } from '../main/core/paths.js';
import { createEngine } from '../main/core/engine.js';
import { writeTestBundle } from './support/bundles.js';
import { QWEN25_GENERATION_CONFIG, QWEN25_TEMPLATE, writeQwenModelFolder } from './support/fidelityModels.js';
import { runStageProcess, TEST_PYTHON } from './support/python.js';
import { typedContentSafe } from '../main/core/fidelity/checks/engine.js';

const run = promisify(execFile);
const CLI = distPath('main', 'cli.js');
let dir: string;
let modelDir: string;
let clean: string;
let defective: string;
let warning: string;

const CLEAN: LlmMetadataJson = {
  stopTokens: [{ tokenIds: { ids: [151645] } }, { tokenIds: { ids: [151643] } }],
  // As the metadata fix writes it: the model's template behind the typed-content preamble (engine.typed-content).
  jinjaPromptTemplate: typedContentSafe(QWEN25_TEMPLATE),
  samplerParams: { type: 'TOP_P', k: 20, p: 0.8, temperature: 0.7 },
  maxNumTokens: 4096,
  llmModelType: { qwen2p5: {} },
};

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, '--data-dir', path.join(dir, 'data'), ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  for (const file of [CLI, nodeStageScript('verify')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build first.`);
  }
  dir = await mkdtemp(path.join(os.tmpdir(), 'fidelity-cli-'));
  modelDir = writeQwenModelFolder(path.join(dir, 'model'), { generationConfig: { ...QWEN25_GENERATION_CONFIG, repetition_penalty: 1.0 } });
  clean = await writeTestBundle(path.join(dir, 'clean.litertlm'), modelDir, { metadata: CLEAN });
  defective = await writeTestBundle(path.join(dir, 'defective.litertlm'), modelDir, { metadata: { ...CLEAN, stopTokens: [{ tokenIds: { ids: [151643] } }] } });
  warning = await writeTestBundle(path.join(dir, 'warning.litertlm'), modelDir, { metadata: { ...CLEAN, llmModelType: { genericModel: {} } } });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('workbench check', () => {
  it('exits 0 on a clean bundle and prints every item', async () => {
    const { code, stdout } = await cli(['check', '--model', modelDir, '--bundle', clean, '--intended-context', '4096']);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^PASS {2}Stop tokens include every EOS id of the model$/m);
    expect(stdout).toMatch(/\d+ pass, 0 warn, 0 fail\./);
  });

  it('exits 0 when only warnings remain, and 1 with --strict', async () => {
    const { code, stdout } = await cli(['check', '--model', modelDir, '--bundle', warning]);
    expect(code, stdout).toBe(0);
    expect(stdout).toMatch(/^WARN {2}llm_model_type matches the architecture$/m);
    const strict = await cli(['check', '--model', modelDir, '--bundle', warning, '--strict']);
    expect(strict.code, strict.stdout).toBe(1);
  });

  it('exits 1 on failures, with the fix command, JSON and a Markdown report', async () => {
    const md = path.join(dir, 'report.md');
    const { code, stdout } = await cli(['check', '--model', modelDir, '--bundle', defective, '--json', '--markdown', md]);
    expect(code).toBe(1);
    const report = FidelityReport.parse(JSON.parse(stdout));
    expect(report.items.find((i) => i.id === 'stop-tokens.end-of-turn')?.status).toBe('fail');
    expect(readFileSync(md, 'utf8')).toContain('❌ fail · Stop tokens include the chat template');
    const text = await cli(['check', '--model', modelDir, '--bundle', defective]);
    expect(text.stdout).toContain('workbench package --fix-metadata');
  });

  it('refuses bad input with a clear message and a non-check exit code', async () => {
    const missing = await cli(['check', '--model', modelDir, '--bundle', path.join(dir, 'nope.litertlm')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('nope.litertlm does not exist');
    const usage = await cli(['check', '--model', modelDir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--bundle');
  });
});

describe('package --fix-metadata (runFixMetadata, which the package command calls)', () => {
  it('rewrites the bundle, prints what it fixed and the re-check, and the built check agrees', async () => {
    const lines: string[] = [];
    const ctx: CliContext = {
      dataDir: undefined,
      existingHistory: () => {
        throw new Error('the fix needs no database');
      },
      engine: () => {
        throw new Error('the fix needs no database');
      },
      out: (text) => lines.push(text),
      err: (text) => lines.push(text),
    };
    const out = path.join(dir, 'fixed.litertlm');
    const code = await runFixMetadata({ bundle: defective, model: modelDir, out, intendedContext: '4096' }, ctx);
    const text = lines.join('\n');
    expect(code, text).toBe(0);
    expect(text).toMatch(/Wrote .*fixed\.litertlm .* no re-conversion\./);
    expect(text).toContain('Fixed: stop-tokens.eos, stop-tokens.end-of-turn.');
    const check = await cli(['check', '--model', modelDir, '--bundle', out, '--intended-context', '4096']);
    expect(check.code, check.stdout).toBe(0);
  });

  it('is reachable as `workbench package --fix-metadata` through the built CLI', async () => {
    const out = path.join(dir, 'fixed-by-cli.litertlm');
    const fixed = await cli(['package', '--fix-metadata', defective, '--model', modelDir, '--out', out, '--intended-context', '4096']);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('no re-conversion');
    const check = await cli(['check', '--model', modelDir, '--bundle', out, '--intended-context', '4096']);
    expect(check.code, check.stdout).toBe(0);
    const missingOut = await cli(['package', '--fix-metadata', defective, '--model', modelDir]);
    expect(missingOut.code).toBe(2);
    expect(missingOut.stderr).toContain('--out');
  });

  it('refuses a bad --intended-context as a usage error', async () => {
    const ctx: CliContext = { dataDir: undefined, existingHistory: () => { throw new Error('unused'); }, engine: () => { throw new Error('unused'); }, out: () => {}, err: () => {} };
    await expect(runFixMetadata({ bundle: defective, model: modelDir, out: path.join(dir, 'x.litertlm'), intendedContext: 'lots' }, ctx)).rejects.toMatchObject({ code: 'usage' });
    expect(existsSync(path.join(dir, 'x.litertlm'))).toBe(false);
  });
});

describe('verify with the numeric comparison in a run', () => {
  it('does not fail the run when this host cannot compare numerically: the next stage still runs', async () => {
    const dataDir = await mkdtemp(path.join(dir, 'run-'));
    const engine = createEngine({ mode: 'cli', dataDir });
    try {
      const id = await engine.runner.start({
        stages: [
          { kind: 'verify', params: { modelDir, bundlePath: clean, numeric: true } },
          { kind: 'selftest', params: { durationSeconds: 0, logLines: 1 } },
        ],
      });
      await engine.runner.whenIdle();
      const run = engine.history.getRun(id);
      expect(run.status).toBe('succeeded');
      expect(run.stages.map((s) => s.status)).toEqual(['succeeded', 'succeeded']);
      expect((run.stages[0]!.result as { numeric: { status: string } }).numeric.status).toBe('skipped');
      expect(run.stages[0]!.message).toMatch(/numeric comparison skipped/);
      expect(engine.history.getLogs(id).some((l) => l.level === 'warn' && l.text.startsWith('Numeric comparison skipped: '))).toBe(true);
    } finally {
      await engine.close();
    }
  });
});

describe('verify stage script', () => {
  async function stage(params: Record<string, unknown>, env: Record<string, string> = {}) {
    const paramsFile = path.join(dir, `verify-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(paramsFile, JSON.stringify(params));
    const stageDir = path.join(dir, `stage-${path.basename(paramsFile, '.json')}`);
    return { stageDir, outcome: await runStageProcess(process.execPath, [nodeStageScript('verify'), '--params', paramsFile], { WORKBENCH_STAGE_DIR: stageDir, ...env }, 120_000) };
  }

  it('emits the report as the result and writes .json/.md artifacts', async () => {
    const { stageDir, outcome } = await stage({ modelDir, bundlePath: defective, intendedContext: 4096 });
    expect(outcome.code, outcome.stderr).toBe(0);
    const result = outcome.events.find((e) => e.type === 'result');
    if (result?.type !== 'result') throw new Error(`no result event: ${outcome.stderr}`);
    const report = FidelityReport.parse(result.data.report);
    expect(report.summary.fail).toBe(2);
    const artifacts = outcome.events.filter((e) => e.type === 'artifact').map((e) => (e as { kind: string; path: string }).kind);
    expect(artifacts).toEqual(['fidelity-report', 'fidelity-report-md']);
    expect(existsSync(path.join(stageDir, 'fidelity-report.json'))).toBe(true);
    expect(outcome.events.some((e) => e.type === 'metric' && e.name === 'fidelity.fail' && e.value === 2)).toBe(true);
  });

  /** What a verify stage that could not run the numeric comparison reports: success, the checklist, and the skip said with its fix. */
  function expectSkipped(outcome: Awaited<ReturnType<typeof stage>>['outcome'], code: string) {
    expect(outcome.code, outcome.stderr).toBe(0);
    expect(outcome.events.some((e) => e.type === 'error')).toBe(false);
    const result = outcome.events.find((e) => e.type === 'result');
    if (result?.type !== 'result') throw new Error('no result');
    expect(FidelityReport.parse(result.data.report).summary.fail).toBe(0);
    const numeric = result.data.numeric as { status: string; error: { code: string; message: string; hint?: string } };
    expect(numeric).toMatchObject({ status: 'skipped', error: { code } });
    const warn = outcome.events.find((e) => e.type === 'log' && e.level === 'warn' && e.text.startsWith('Numeric comparison skipped: '));
    expect(warn).toBeDefined();
    const last = outcome.events.filter((e) => e.type === 'progress').at(-1);
    expect(last).toMatchObject({ fraction: 1, phase: 'done', message: expect.stringMatching(/^Checklist: \d+ pass, \d+ warn, 0 fail · numeric comparison skipped \(/) });
    return numeric;
  }

  it('with numeric but no Python configured: the checklist lands and the stage succeeds, saying what it skipped', async () => {
    const { outcome } = await stage({ modelDir, bundlePath: clean, numeric: true });
    const numeric = expectSkipped(outcome, 'python_unavailable');
    expect(numeric.error.hint).toMatch(/Environment page/);
  });

  it('with numeric on a Python without transformers: skipped, naming the missing packages', async () => {
    const { stageDir, outcome } = await stage({ modelDir, bundlePath: clean, numeric: true }, { WORKBENCH_PYTHON: TEST_PYTHON });
    const error = expectSkipped(outcome, 'missing_package').error;
    expect(error.message).toContain('transformers');
    expect(error.hint).toMatch(/bootstrap/);
    // The .tflite was extracted from the bundle for the interpreter.
    expect(existsSync(path.join(stageDir, 'model.tflite'))).toBe(true);
  });
});
