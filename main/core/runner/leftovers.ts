/**
 * A stage killed together with the engine (crash, kill -9, power cut) cannot
 * clean up after itself: a native conversion leaves `<out>.partial` (hundreds
 * of MiB to GiBs), the packager `.<out>.partial-<pid>-<ms>`, the merge its
 * hidden `.<out>.partial-<host>-<pid>-<hex>` folder (with its `.partial`
 * shards), the demo its `demo.tflite.partial` and bundles. Nobody else will ever remove them, so on the next start, once
 * recovery has marked the run interrupted and its stage's process is proven
 * gone (stopped by recovery or already dead), this removes them.
 *
 * Only names derived from what the stage itself used: its recorded parameters
 * (the params file it read) and, where the writer puts it in the name, its
 * recorded pid — never a pattern over a user's folder, never a finished output
 * (the writers rename into place only when complete), never anything while
 * the stage's process or a child in its process group may still be running.
 * Each removal is a line in the run's log with the path and its size; what
 * cannot be removed is a warning saying why.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../../common/format.js';
import { RecipesParams } from '../../common/recipes.js';
import { ConvertParams, nativeTfliteName } from '../../common/stages/convert.js';
import { DemoParams, demoPaths } from '../../common/stages/demo.js';
import { MergeParams } from '../../common/stages/merge.js';
import { PackageParams } from '../../common/stages/package.js';
import type { StageKind } from '../../common/stages/plan.js';
import type { History } from '../history/history.js';
import { isPartialDirOf } from '../merge/outputFolder.js';
import { readDecoderConfig } from '../nativeConvert/convertModel.js';
import { nativeOutputPath } from '../nativeConvert/outputPath.js';
import { partialBundlePath } from '../packager/writer.js';
import { isAlive, processGroupAlive } from '../process/killTree.js';
import { partialModelPath } from '../tfliteWriter/writeModel.js';
import { commandLineOf, stageParamsFile } from './orphans.js';

/** A temporary output a stage's writer creates, by exact name. */
interface Leftover {
  path: string;
  type: 'file' | 'folder';
}

export interface RemovedLeftover {
  runId: number;
  stageId: number;
  path: string;
  bytes: number;
}

interface StageFacts {
  pid: number;
  startedAt: number | null;
  /** The stage's working directory, against which relative parameters resolve. */
  runDir: string;
}

/** Removes the temporary outputs of the interrupted stages of these (just recovered) runs. */
export async function removeLeftovers(history: History, dataDir: string, runIds: number[]): Promise<RemovedLeftover[]> {
  const removed: RemovedLeftover[] = [];
  for (const stage of history.stageProcesses(runIds)) {
    const record = history.getRun(stage.runId).stages.find((s) => s.id === stage.stageId);
    if (!record || record.status !== 'interrupted') continue;
    const paramsFile = stageParamsFile(dataDir, stage.runId, stage.idx, stage.kind);
    const params = await readFile(paramsFile, 'utf8').then((text) => JSON.parse(text) as unknown, () => record.params);
    const facts: StageFacts = { pid: stage.pid, startedAt: record.startedAt, runDir: path.dirname(paramsFile) };
    let leftovers: Leftover[];
    try {
      leftovers = await leftoversOf(stage.kind, params, facts);
    } catch (error) {
      history.appendSystemLog(stage.runId, stage.stageId, 'warn', `Could not tell which temporary files the interrupted ${stage.kind} stage left behind (${(error as Error).message}); look next to its output for a name ending in .partial and delete it by hand.`);
      continue;
    }
    const present: { leftover: Leftover; info: Stats }[] = [];
    for (const leftover of leftovers) {
      const info = await lstat(leftover.path).catch(() => null);
      // A symlink or something of another type under the name is not what the writer made.
      if (info && (leftover.type === 'file' ? info.isFile() : info.isDirectory())) present.push({ leftover, info });
    }
    if (present.length === 0) continue;
    const names = present.map((p) => p.leftover.path).join(', ');
    const still = await stillRunning(stage.pid, paramsFile);
    if (still) {
      history.appendSystemLog(stage.runId, stage.stageId, 'warn', `Left ${names} in place: ${still}; delete it by hand once that process has stopped.`);
      continue;
    }
    const shared = await sharedWithLiveRun(present.map((p) => p.leftover.path), history, dataDir, runIds);
    if (shared) {
      history.appendSystemLog(stage.runId, stage.stageId, 'warn', `Left ${names} in place: ${shared}.`);
      continue;
    }
    for (const { leftover, info } of present) {
      const bytes = leftover.type === 'file' ? info.size : await folderBytes(leftover.path);
      try {
        await rm(leftover.path, { recursive: leftover.type === 'folder' });
        removed.push({ runId: stage.runId, stageId: stage.stageId, path: leftover.path, bytes });
        history.appendSystemLog(stage.runId, stage.stageId, 'info', `Removed ${leftover.path} (${formatBytes(bytes)}), the half-written output the interrupted ${stage.kind} stage left behind.`);
      } catch (error) {
        history.appendSystemLog(stage.runId, stage.stageId, 'warn', `Could not remove ${leftover.path} (${formatBytes(bytes)}), the half-written output the interrupted ${stage.kind} stage left behind: ${(error as Error).message}. Delete it by hand to free the space.`);
      }
    }
  }
  return removed;
}

/**
 * Why the stage's writer might still be at work, or null when it is provably
 * gone: its pid is free (or now held by a process that is not this stage,
 * whose command line always names its own params file), and no live process
 * is left in the stage's process group.
 */
async function stillRunning(pid: number, paramsFile: string): Promise<string | null> {
  if (isAlive(pid)) {
    const commandLine = await commandLineOf(pid);
    if (commandLine === null || commandLine.includes(paramsFile)) return `the stage's process (pid ${pid}) may still be running`;
  }
  if (await processGroupAlive(pid)) return `a process started by the stage (process group ${pid}) is still running`;
  return null;
}

/**
 * A live run (another window, a CLI run, or one started right after this
 * start-up) whose running stage writes under one of the same names: the
 * conversion's `<out>.partial` carries no pid, so a new conversion to the
 * same output would be using that very file.
 */
async function sharedWithLiveRun(paths: string[], history: History, dataDir: string, recovered: number[]): Promise<string | null> {
  for (const run of history.listRuns({ status: ['running'], limit: 1000 }).runs) {
    if (recovered.includes(run.id)) continue;
    for (const stage of history.getRun(run.id).stages) {
      if (stage.status !== 'running') continue;
      const theirs = await leftoversOf(stage.kind, stage.params, { pid: -1, startedAt: null, runDir: path.join(dataDir, 'runs', String(run.id)) }).catch(() => []);
      const shared = theirs.find((leftover) => paths.includes(leftover.path));
      if (shared) return `run ${run.id}, still running, is writing ${shared.path} now`;
    }
  }
  return null;
}

/** The exact temporary names the stage's writers use, derived from its parameters. */
async function leftoversOf(kind: StageKind, params: unknown, stage: StageFacts): Promise<Leftover[]> {
  const resolve = (p: string) => path.resolve(stage.runDir, p);
  switch (kind) {
    case 'convert': {
      const convert = ConvertParams.parse(params);
      // The Python routes write through litert-torch, whose temporary names are its own.
      if (convert.route !== 'native') return [];
      const family = convert.outFile ? 'unused' : (await readDecoderConfig(resolve(convert.modelDir))).family.name;
      const outPath = nativeOutputPath({ ...convert, outDir: resolve(convert.outDir), ...(convert.outFile ? { outFile: resolve(convert.outFile) } : {}) }, family);
      return [{ path: partialModelPath(outPath), type: 'file' }];
    }
    case 'package':
      return bundlePartials(resolve(PackageParams.parse(params).outPath), stage);
    case 'merge': {
      const outDir = resolve(MergeParams.parse(params).outDir);
      const names = await readdir(path.dirname(outDir)).catch(() => [] as string[]);
      return names.filter((name) => isPartialDirOf(name, outDir, stage.pid)).map((name) => ({ path: path.join(path.dirname(outDir), name), type: 'folder' as const }));
    }
    case 'recipes': {
      const recipes = RecipesParams.parse(params);
      const family = (await readDecoderConfig(resolve(recipes.modelDir))).family.name;
      const found: Leftover[] = [];
      for (const recipe of recipes.recipes) {
        const tflite = path.join(resolve(recipes.outDir), recipe, nativeTfliteName(family, recipe, recipes.kvCacheMaxLen));
        found.push({ path: partialModelPath(tflite), type: 'file' }, ...(await bundlePartials(tflite.replace(/\.tflite$/, '.litertlm'), stage)));
      }
      return found;
    }
    case 'demo': {
      // The demo's conversion and its two bundles (the model folder is written by training, under its own names).
      const files = demoPaths(resolve(DemoParams.parse(params).outDir));
      return [{ path: partialModelPath(files.tflite), type: 'file' }, ...(await bundlePartials(files.shipped, stage)), ...(await bundlePartials(files.fixed, stage))];
    }
    default:
      // selftest, verify, bootstrap, evaluate: no output written under a temporary name.
      return [];
  }
}

/** Clock adjustments between the engine recording the start and the writer naming its file. */
const CLOCK_SLACK_MS = 60_000;

/**
 * The packager's `.<out>.partial-<pid>-<ms>` written by this stage's pid:
 * the one name part not recorded is the writer's start time, which must lie
 * between the stage's start and now, and the whole name must be exactly the
 * one the packager would have made from it.
 */
async function bundlePartials(outPath: string, stage: StageFacts): Promise<Leftover[]> {
  if (stage.startedAt === null) return [];
  const dir = path.dirname(outPath);
  const names = await readdir(dir).catch(() => [] as string[]);
  const now = Date.now();
  return names
    .filter((name) => {
      const match = /-(\d{1,15})$/.exec(name);
      if (!match) return false;
      const ms = Number(match[1]);
      return ms >= stage.startedAt! - CLOCK_SLACK_MS && ms <= now && path.basename(partialBundlePath(outPath, stage.pid, ms)) === name;
    })
    .map((name) => ({ path: path.join(dir, name), type: 'file' as const }));
}

/** Bytes of the files under a folder (symlinks counted as themselves, never followed). */
async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await folderBytes(full);
    else total += (await lstat(full).catch(() => null))?.size ?? 0;
  }
  return total;
}
