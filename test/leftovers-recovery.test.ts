/**
 * A serve process killed (SIGKILL) in the middle of a native conversion
 * leaves the stage's `<out>.partial` behind; the next start removes it once
 * the stage's process is gone (dead already, or stopped by recovery), logs
 * the path and size in the run's log, and touches nothing it does not own:
 * a finished output, an unrelated `.partial` next to it, another process's
 * temporary bundle or merge folder.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogLine, RunDetail } from '../main/common/runs.js';
import { createEngine } from '../main/core/engine.js';
import { History } from '../main/core/history/history.js';
import { hostSnapshot } from '../main/core/host.js';
import { partialDirPrefix } from '../main/core/merge/outputFolder.js';
import { partialBundlePath } from '../main/core/packager/writer.js';
import { isAlive } from '../main/core/process/killTree.js';
import { stageParamsFile } from '../main/core/runner/orphans.js';
import { api, freshDataDir, startServe, waitFor, type ServeProcess } from './helpers/serve.js';
import { writeTinyDecoder } from './support/tinyDecoder.js';

let servers: ServeProcess[] = [];
const stagePids: number[] = [];
/** Work folders (checkpoints of ≈ 250 MiB): removed after each test. */
const folders: string[] = [];
afterEach(async () => {
  for (const server of servers) await server.stop();
  servers = [];
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  for (const pid of stagePids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A checkpoint whose .tflite takes a while to write (≈ 250 MiB of F32 weights). */
async function slowModel(dir: string): Promise<string> {
  return writeTinyDecoder(path.join(dir, 'model'), { family: 'qwen2', layers: 2, hidden: 512, heads: 8, kvHeads: 2, intermediate: 1024, vocab: 120_000, dtype: 'F32' });
}

function convertPlan(modelDir: string, out: string, name: string) {
  return { plan: { name, stages: [{ kind: 'convert', params: { modelDir, outDir: path.dirname(out), outFile: out, route: 'native', kvCacheMaxLen: 64, prefillSeqLens: [8], quantize: 'none' } }] } };
}

/** Starts the conversion and freezes its stage process (SIGSTOP) once `<out>.partial` holds data, so it is mid-write. */
async function startAndFreeze(server: ServeProcess, modelDir: string, out: string): Promise<{ id: number; pid: number }> {
  const { id } = await api<{ id: number }>(server, 'runs.start', convertPlan(modelDir, out, 'killed mid-write'));
  const reader = new Database(path.join(server.dataDir, 'history.sqlite'), { readonly: true });
  try {
    const pid = await waitFor(async () => (reader.prepare('SELECT pid FROM stages WHERE run_id = ?').get(id) as { pid: number | null } | undefined)?.pid, 'the stage to start', 300_000, 10);
    stagePids.push(pid);
    const partialSize = () => (existsSync(`${out}.partial`) ? statSync(`${out}.partial`, { throwIfNoEntry: false })?.size ?? 0 : 0);
    await waitFor(async () => partialSize() > 1024 * 1024, 'the conversion to be writing', 300_000, 5);
    process.kill(pid, 'SIGSTOP');
    return { id, pid };
  } finally {
    reader.close();
  }
}

async function allLogs(server: ServeProcess, id: number): Promise<LogLine[]> {
  return (await api<{ lines: LogLine[] }>(server, 'runs.logs', { id, limit: 50_000 })).lines;
}

describe('start-up recovery removes what a killed run left half-written', () => {
  it('removes the dead stage’s <out>.partial, logs it, and leaves the finished output and an unrelated .partial alone', async () => {
    const dataDir = freshDataDir('wb-leftovers');
    folders.push(dataDir);
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-leftovers-work-'));
    folders.push(work);
    const outDir = path.join(work, 'out');
    const out = path.join(outDir, 'model.tflite');
    const first = await startServe({ dataDir });
    servers.push(first);

    // A finished output from an earlier, completed conversion to the same file.
    const small = await writeTinyDecoder(path.join(work, 'small'), { family: 'qwen3', layers: 1 });
    const done = await api<{ id: number }>(first, 'runs.start', convertPlan(small, out, 'finished earlier'));
    await waitFor(async () => (await api<RunDetail>(first, 'runs.get', { id: done.id })).status === 'succeeded', 'the first conversion to succeed', 300_000);
    const finishedHash = sha256(out);
    const other = path.join(outDir, 'other.partial');
    writeFileSync(other, 'not the workbench’s');

    const model = await slowModel(work);
    const { id, pid } = await startAndFreeze(first, model, out);
    const partialBytes = statSync(`${out}.partial`).size;
    expect(partialBytes).toBeGreaterThan(1024 * 1024);
    first.child.kill('SIGKILL');
    await first.child;
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !isAlive(pid), 'the stage process to die', 60_000);
    expect(existsSync(`${out}.partial`)).toBe(true);

    const second = await startServe({ dataDir });
    servers.push(second);
    await waitFor(async () => !existsSync(`${out}.partial`), 'recovery to remove the partial output', 120_000);
    const run = await api<RunDetail>(second, 'runs.get', { id });
    expect(run.status).toBe('interrupted');
    expect(run.stages[0]!.status).toBe('interrupted');
    const removal = await waitFor(async () => (await allLogs(second, id)).find((line) => line.text.startsWith(`Removed ${out}.partial (`)), 'the removal log line');
    expect(removal.level).toBe('info');
    expect(removal.text).toMatch(/\(\d+(\.\d)? (MiB|GiB|KiB)\)/);
    // Nothing else was touched: the finished output, the unrelated .partial.
    expect(sha256(out)).toBe(finishedHash);
    expect(readFileSync(other, 'utf8')).toBe('not the workbench’s');
    // The first run (succeeded) got no removal line, and no warning was needed for this one.
    expect((await allLogs(second, done.id)).some((line) => line.text.startsWith('Removed'))).toBe(false);
    expect((await allLogs(second, id)).some((line) => line.level === 'warn' && /Could not|Left /.test(line.text))).toBe(false);
  }, 600_000);

  it('stops a stage that outlived the engine (an orphan), then removes its partial output', async () => {
    const dataDir = freshDataDir('wb-leftovers-orphan');
    folders.push(dataDir);
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-leftovers-orphan-work-'));
    folders.push(work);
    const out = path.join(work, 'out', 'orphan.tflite');
    const model = await slowModel(work);
    const first = await startServe({ dataDir });
    servers.push(first);
    // Frozen mid-write, the stage keeps running (stopped, hung) after its engine dies, holding its partial.
    const { id, pid } = await startAndFreeze(first, model, out);
    first.child.kill('SIGKILL');
    await first.child;
    expect(isAlive(pid)).toBe(true);

    const second = await startServe({ dataDir });
    servers.push(second);
    await waitFor(async () => !existsSync(`${out}.partial`), 'recovery to stop the orphan and remove its partial output', 120_000);
    expect(isAlive(pid)).toBe(false);
    const lines = await waitFor(async () => {
      const all = await allLogs(second, id);
      return all.some((line) => line.text.startsWith(`Removed ${out}.partial (`)) ? all : null;
    }, 'the removal log line');
    const stopped = lines.findIndex((line) => line.text.includes(`Stopped the stage's process (pid ${pid})`));
    const removed = lines.findIndex((line) => line.text.startsWith(`Removed ${out}.partial (`));
    expect(stopped).toBeGreaterThanOrEqual(0);
    expect(removed).toBeGreaterThan(stopped);
    expect((await api<RunDetail>(second, 'runs.get', { id })).status).toBe('interrupted');
    expect(existsSync(out)).toBe(false);
  }, 600_000);

  it('never removes a finished output, another process’s temporary files, or anything while the stage may still run', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-leftovers-owned-'));
    folders.push(dataDir);
    const work = mkdtempSync(path.join(os.tmpdir(), 'wb-leftovers-owned-work-'));
    folders.push(work);
    const history = new History(path.join(dataDir, 'history.sqlite'));
    const crashed = { pid: 999_999_999, token: 'crashed' };

    // A real process that has ended: the recorded pid of every stage below but the last.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    const deadPid = gone.pid!;

    const record = (kind: 'convert' | 'package' | 'merge' | 'recipes' | 'demo', params: Record<string, unknown>, pid: number): number => {
      const runId = history.createRun({ plan: { stages: [{ kind, params } as never], allowPredictedOom: false }, host: hostSnapshot(), owner: crashed });
      const paramsFile = stageParamsFile(dataDir, runId, 0, kind);
      mkdirSync(path.dirname(paramsFile), { recursive: true });
      writeFileSync(paramsFile, JSON.stringify(history.getRun(runId).stages[0]!.params));
      history.setRunStatus(runId, 'running');
      history.updateStage(history.getRun(runId).stages[0]!.id, { status: 'running', startedAt: Date.now() - 5000, pid });
      return runId;
    };

    // 1. A conversion that renamed its output into place, then died before reporting: the output stays.
    const finished = path.join(work, 'finished', 'model.tflite');
    mkdirSync(path.dirname(finished), { recursive: true });
    writeFileSync(finished, 'finished model');
    const convertRun = record('convert', { modelDir: work, outDir: path.dirname(finished), outFile: finished, route: 'native' }, deadPid);

    // 2. A packaging stage: its own temporary bundle goes, another pid's (a live CLI package) stays, as does the final bundle.
    const bundle = path.join(work, 'bundle', 'model.litertlm');
    mkdirSync(path.dirname(bundle), { recursive: true });
    const packageRun = record('package', { tflitePath: finished, modelDir: work, outPath: bundle }, deadPid);
    const ownBundlePartial = partialBundlePath(bundle, deadPid, Date.now() - 4000);
    const otherBundlePartial = partialBundlePath(bundle, process.pid, Date.now() - 4000);
    writeFileSync(ownBundlePartial, Buffer.alloc(3 * 1024 * 1024));
    writeFileSync(otherBundlePartial, 'another writer');
    writeFileSync(bundle, 'finished bundle');

    // 3. A merge: its own hidden partial folder (with a .partial shard) goes, another pid's stays.
    const mergeOut = path.join(work, 'merged');
    const mergeRun = record('merge', { baseDir: work, adapterDir: work, outDir: mergeOut }, deadPid);
    const ownMergeDir = path.join(work, `${partialDirPrefix(mergeOut)}${deadPid}-0123abcd`);
    const otherMergeDir = path.join(work, `${partialDirPrefix(mergeOut)}${process.pid}-0123abcd`);
    for (const dir of [ownMergeDir, otherMergeDir]) {
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'model-00001-of-00001.safetensors.partial'), Buffer.alloc(1024 * 1024));
    }

    // 4. A conversion whose stage died but left a child in its process group, maybe still writing: nothing is removed.
    const unsure = path.join(work, 'unsure', 'model.tflite');
    mkdirSync(path.dirname(unsure), { recursive: true });
    writeFileSync(`${unsure}.partial`, 'maybe still being written');
    const unsureRun = record('convert', { modelDir: work, outDir: path.dirname(unsure), outFile: unsure, route: 'native' }, deadPid);
    const leader = spawn(process.execPath, ['-e', "const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); console.log(c.pid); c.unref(); process.exit(0)"], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    let childPid = '';
    leader.stdout.on('data', (chunk: Buffer) => (childPid += chunk.toString()));
    await new Promise((resolve) => leader.once('close', resolve));
    stagePids.push(Number(childPid.trim()));
    expect(isAlive(Number(childPid.trim()))).toBe(true);
    expect(isAlive(leader.pid!)).toBe(false);
    history.updateStage(history.getRun(unsureRun).stages[0]!.id, { pid: leader.pid! });
    // 5. The recipes stage: its recipes' <name>.partial and its own temporary bundles go; a recipe already finished stays.
    const model = await writeTinyDecoder(path.join(work, 'tiny'), { family: 'qwen3', layers: 1 });
    const recipesOut = path.join(work, 'recipes');
    const recipesRun = record('recipes', { modelDir: model, outDir: recipesOut, recipes: ['none', 'dynamic_int8'], kvCacheMaxLen: 64 }, deadPid);
    for (const recipe of ['none', 'dynamic_int8']) mkdirSync(path.join(recipesOut, recipe), { recursive: true });
    const recipeFinished = path.join(recipesOut, 'none', 'qwen3_f32_ekv64.tflite');
    const recipePartial = path.join(recipesOut, 'dynamic_int8', 'qwen3_q8_ekv64.tflite.partial');
    const recipeBundlePartial = partialBundlePath(path.join(recipesOut, 'none', 'qwen3_f32_ekv64.litertlm'), deadPid, Date.now() - 3000);
    writeFileSync(recipeFinished, 'finished recipe');
    writeFileSync(recipePartial, Buffer.alloc(2 * 1024 * 1024));
    writeFileSync(recipeBundlePartial, Buffer.alloc(512 * 1024));

    // 7. The demo stage (New run page's button): its conversion's partial and its bundles' go; a finished bundle stays.
    const demoOut = path.join(work, 'demo', '2026-12-05-21-00-00');
    mkdirSync(demoOut, { recursive: true });
    const demoRun = record('demo', { outDir: demoOut }, deadPid);
    const demoTflitePartial = path.join(demoOut, 'demo.tflite.partial');
    const demoFixedPartial = partialBundlePath(path.join(demoOut, 'demo-fixed.litertlm'), deadPid, Date.now() - 2000);
    writeFileSync(demoTflitePartial, Buffer.alloc(1024 * 1024));
    writeFileSync(demoFixedPartial, Buffer.alloc(256 * 1024));
    writeFileSync(path.join(demoOut, 'demo-shipped.litertlm'), 'finished shipped bundle');

    // 6. A conversion to the same output as a run another live process is running now: that file is in use, so it stays.
    const shared = path.join(work, 'shared', 'model.tflite');
    mkdirSync(path.dirname(shared), { recursive: true });
    writeFileSync(`${shared}.partial`, 'being written by the live run');
    const sharedRun = record('convert', { modelDir: work, outDir: path.dirname(shared), outFile: shared, route: 'native' }, deadPid);
    const liveOwner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    stagePids.push(liveOwner.pid!);
    const liveRun = history.createRun({
      plan: { stages: [{ kind: 'convert', params: { modelDir: work, outDir: path.dirname(shared), outFile: shared, route: 'native' } } as never], allowPredictedOom: false },
      host: hostSnapshot(),
      owner: { pid: liveOwner.pid!, token: 'alive' },
    });
    history.setRunStatus(liveRun, 'running');
    history.updateStage(history.getRun(liveRun).stages[0]!.id, { status: 'running', startedAt: Date.now(), pid: liveOwner.pid! });
    history.close();

    const engine = createEngine({ mode: 'cli', dataDir, monitors: [] });
    try {
      expect(engine.recoveredRunIds.sort((a, b) => a - b)).toEqual([convertRun, packageRun, mergeRun, unsureRun, recipesRun, demoRun, sharedRun]);
      const removed = await engine.leftoversRemoved;
      expect(removed.map((r) => r.path).sort()).toEqual([ownBundlePartial, ownMergeDir, recipePartial, recipeBundlePartial, demoTflitePartial, demoFixedPartial].sort());
      expect(removed.find((r) => r.path === ownBundlePartial)!.bytes).toBe(3 * 1024 * 1024);
      expect(removed.find((r) => r.path === ownMergeDir)!.bytes).toBe(1024 * 1024);
      expect(readFileSync(finished, 'utf8')).toBe('finished model');
      expect(readFileSync(bundle, 'utf8')).toBe('finished bundle');
      expect(readFileSync(otherBundlePartial, 'utf8')).toBe('another writer');
      expect(existsSync(otherMergeDir)).toBe(true);
      expect(existsSync(ownMergeDir)).toBe(false);
      const texts = (runId: number) => engine.history.getLogs(runId).map((line) => line.text);
      expect(texts(packageRun)).toContain(`Removed ${ownBundlePartial} (3.0 MiB), the half-written output the interrupted package stage left behind.`);
      expect(texts(mergeRun)).toContain(`Removed ${ownMergeDir} (1.0 MiB), the half-written output the interrupted merge stage left behind.`);
      expect(texts(convertRun).some((text) => text.startsWith('Removed'))).toBe(false);
      expect(readFileSync(`${unsure}.partial`, 'utf8')).toBe('maybe still being written');
      expect(readFileSync(recipeFinished, 'utf8')).toBe('finished recipe');
      expect(texts(recipesRun)).toContain(`Removed ${recipePartial} (2.0 MiB), the half-written output the interrupted recipes stage left behind.`);
      expect(texts(recipesRun)).toContain(`Removed ${recipeBundlePartial} (512 KiB), the half-written output the interrupted recipes stage left behind.`);
      expect(texts(demoRun)).toContain(`Removed ${demoTflitePartial} (1.0 MiB), the half-written output the interrupted demo stage left behind.`);
      expect(texts(demoRun)).toContain(`Removed ${demoFixedPartial} (256 KiB), the half-written output the interrupted demo stage left behind.`);
      expect(readFileSync(path.join(demoOut, 'demo-shipped.litertlm'), 'utf8')).toBe('finished shipped bundle');
      expect(readFileSync(`${shared}.partial`, 'utf8')).toBe('being written by the live run');
      expect(texts(sharedRun)).toContain(`Left ${shared}.partial in place: run ${liveRun}, still running, is writing ${shared}.partial now.`);
      expect(engine.history.getRun(liveRun).status).toBe('running');
      expect(texts(unsureRun)).toContain(`Left ${unsure}.partial in place: a process started by the stage (process group ${leader.pid}) is still running; delete it by hand once that process has stopped.`);
    } finally {
      await engine.close();
    }
  }, 120_000);
});
