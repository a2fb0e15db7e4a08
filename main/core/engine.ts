/**
 * The engine: one history, one runner, one event bus, one settings store for
 * a data directory. The Electron app, serve mode and the CLI each create one
 * and talk to it only through the API handlers (or, in the CLI, directly).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { BundleRunnerHost } from './bundleRunner/host.js';
import { EventBus } from './events.js';
import { History } from './history/history.js';
import { hostSnapshot } from './host.js';
import { decisionHostMemory } from './memory/decisionHost.js';
import { attachMemory } from './memory/engineMemory.js';
import type { CalibrationService } from './memory/calibration.js';
import { memoryMonitors } from './memory/monitors.js';
import { resolveDataDir } from './paths.js';
import { isAlive } from './process/killTree.js';
import type { StageMonitorFactory } from '../common/stageMonitor.js';
import { removeLeftovers, type RemovedLeftover } from './runner/leftovers.js';
import { stopOrphanedStages } from './runner/orphans.js';
import { Runner } from './runner/runner.js';
import { SettingsStore } from './settingsStore.js';
import { stageDefinition } from './stages/registry.js';

export interface EngineOptions {
  dataDir?: string;
  mode: 'electron' | 'serve' | 'cli';
  /** Serve mode bound to a non-loopback address. */
  remote?: boolean;
  /** Stage watchers; by default the memory sampler and guard (tests may pass []). */
  monitors?: StageMonitorFactory[];
  killGraceMs?: number;
  /** better-sqlite3 addon built for this runtime (the Electron app's copy); node_modules' build otherwise. */
  nativeBinding?: string;
}

export interface Engine {
  readonly dataDir: string;
  readonly databaseFile: string;
  readonly mode: EngineOptions['mode'];
  readonly remote: boolean;
  readonly history: History;
  readonly events: EventBus;
  readonly runner: Runner;
  readonly settings: SettingsStore;
  /** LiteRT-LM's engine for chatting with bundles (a child process, started on first use). */
  readonly bundles: BundleRunnerHost;
  /** Runs found interrupted (left running by a crash) when this engine started. */
  readonly recoveredRunIds: number[];
  /** Resolves with the pids of orphaned stage processes that recovery stopped. */
  readonly orphansStopped: Promise<number[]>;
  /**
   * Resolves, after orphansStopped, with the temporary outputs (`<out>.partial`…)
   * of the recovered runs' stages that were removed (runner/leftovers.ts).
   */
  readonly leftoversRemoved: Promise<RemovedLeftover[]>;
  availableMemBytes(): number;
  close(): Promise<void>;
}

export function createEngine(options: EngineOptions): Engine {
  const dataDir = resolveDataDir(options.dataDir);
  const databaseFile = path.join(dataDir, 'history.sqlite');
  const history = new History(databaseFile, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  const ownerToken = randomUUID();
  // Another live process (the app, a CLI run) may own running runs in the same database.
  const recoveredRunIds = history.recoverInterrupted((pid, token) => (pid === process.pid ? token === ownerToken : isAlive(pid)));
  const events = new EventBus();
  const settings = new SettingsStore(history);
  // The host's calibration once loaded (priors until then), for the guard's suggestions and the preflights.
  let calibration: CalibrationService | undefined;
  const appliedCalibration = () => calibration?.applied();
  const runner = new Runner({
    history,
    events,
    dataDir,
    settings: () => settings.get(),
    host: hostSnapshot,
    stageDefinition,
    preflightMemory: { calibration: appliedCalibration, hostMemory: () => decisionHostMemory() },
    monitors: options.monitors ?? memoryMonitors({ calibration: appliedCalibration }),
    ownerToken,
    ...(options.killGraceMs !== undefined ? { killGraceMs: options.killGraceMs } : {}),
  });
  let closed = false;
  // In the background, so a start-up never waits on killing or deleting: first the orphans, then what they left.
  const orphansStopped = stopOrphanedStages(history, dataDir, recoveredRunIds).catch(() => []);
  const leftoversRemoved = orphansStopped.then(() => removeLeftovers(history, dataDir, recoveredRunIds)).catch(() => []);
  const engine: Engine = {
    dataDir,
    databaseFile,
    mode: options.mode,
    remote: options.remote ?? false,
    history,
    events,
    runner,
    settings,
    bundles: new BundleRunnerHost(),
    recoveredRunIds,
    orphansStopped,
    leftoversRemoved,
    availableMemBytes: () => os.freemem(),
    async close() {
      if (closed) return;
      closed = true;
      await runner.shutdown();
      await engine.bundles.close();
      await engine.leftoversRemoved;
      (await memory)();
      history.close();
    },
  };
  // This host's calibrated estimator, and a calibration point from every finished conversion.
  const memory = attachMemory(engine).then(
    (attached) => {
      calibration = attached.calibration;
      return attached.detach;
    },
    () => () => undefined,
  );
  return engine;
}
