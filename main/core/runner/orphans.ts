/**
 * After the engine's process died (crash, kill, power cut while the machine
 * stayed up), a stage it started may still be running on its own: a
 * converter holding 30 GB that nobody watches. On the next start, recovery
 * stops such a stage, but only after proving the process is that stage —
 * its command line names the stage's own parameter file, which no unrelated
 * process (say, one that reused the pid) would.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { History } from '../history/history.js';
import { isAlive, killProcessTree } from '../process/killTree.js';

const execFileAsync = promisify(execFile);

/** The command line of a process, or null when it cannot be read. */
export async function commandLineOf(pid: number): Promise<string | null> {
  try {
    if (process.platform === 'linux') return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    if (process.platform === 'darwin') return (await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)])).stdout.trim() || null;
  } catch {
    return null;
  }
  // Windows: no reliable way to prove the identity here, so nothing is killed.
  return null;
}

export function stageParamsFile(dataDir: string, runId: number, idx: number, kind: string): string {
  return path.join(dataDir, 'runs', String(runId), `stage-${idx}-${kind}.params.json`);
}

/** Stops the orphaned stages of the given (just recovered) runs; returns the pids it stopped. */
export async function stopOrphanedStages(history: History, dataDir: string, runIds: number[], graceMs = 3000): Promise<number[]> {
  const stopped: number[] = [];
  for (const stage of history.stageProcesses(runIds)) {
    if (!isAlive(stage.pid)) continue;
    const commandLine = await commandLineOf(stage.pid);
    const paramsFile = stageParamsFile(dataDir, stage.runId, stage.idx, stage.kind);
    if (commandLine === null || !commandLine.includes(paramsFile)) {
      if (commandLine === null) {
        history.appendSystemLog(stage.runId, stage.stageId, 'warn', `The stage's process (pid ${stage.pid}) may still be running after the crash; check it and stop it by hand if so.`);
      }
      continue;
    }
    await killProcessTree(stage.pid, { graceMs, processGroup: process.platform !== 'win32' });
    stopped.push(stage.pid);
    history.appendSystemLog(stage.runId, stage.stageId, 'warn', `Stopped the stage's process (pid ${stage.pid}), which was still running on its own after the crash.`);
  }
  return stopped;
}
