/**
 * A real Runner over a real SQLite file whose stages launch the fixture
 * scripts in test/fixtures/stages (chosen per test), for runner integration tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkbenchEvent } from '../../main/common/api/events.js';
import { DEFAULT_SETTINGS } from '../../main/common/settings.js';
import { EventBus } from '../../main/core/events.js';
import { History } from '../../main/core/history/history.js';
import { hostSnapshot } from '../../main/core/host.js';
import type { StageMonitorFactory } from '../../main/common/stageMonitor.js';
import { Runner } from '../../main/core/runner/runner.js';
import type { StageDefinition } from '../../main/core/stages/definition.js';
import { decisionHostMemory } from '../../main/core/memory/decisionHost.js';

export const FIXTURE_STAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'stages');

export interface Harness {
  dataDir: string;
  history: History;
  events: WorkbenchEvent[];
  runner: Runner;
  /** The fixture script (and extra env) the next stage launches. */
  use(script: string, env?: Record<string, string>): void;
  dispose(): Promise<void>;
}

export function createHarness(options: { monitors?: StageMonitorFactory[]; killGraceMs?: number } = {}): Harness {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wb-runner-'));
  const history = new History(path.join(dataDir, 'history.sqlite'));
  const bus = new EventBus();
  const events: WorkbenchEvent[] = [];
  bus.subscribe((event) => events.push(event));
  let script = 'ok.mjs';
  let env: Record<string, string> = {};
  const definition: StageDefinition = {
    kind: 'selftest',
    title: 'Fixture',
    launch: async () => ({ file: process.execPath, args: [path.join(FIXTURE_STAGES, script)], env }),
  };
  const runner = new Runner({
    history,
    events: bus,
    dataDir,
    settings: () => DEFAULT_SETTINGS,
    host: hostSnapshot,
    stageDefinition: () => definition,
    preflightMemory: { calibration: () => undefined, hostMemory: () => decisionHostMemory() },
    monitors: options.monitors ?? [],
    ownerToken: 'test',
    killGraceMs: options.killGraceMs ?? 1000,
  });
  return {
    dataDir,
    history,
    events,
    runner,
    use(next, nextEnv = {}) {
      script = next;
      env = nextEnv;
    },
    async dispose() {
      await runner.shutdown();
      history.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const selftestPlan = (stages = 1) => ({ stages: Array.from({ length: stages }, () => ({ kind: 'selftest' as const, params: {} })) });
