/**
 * The memory capability attached to an engine: one calibration service per
 * history database, and the recorder that turns each finished or
 * guard-stopped conversion into a calibration point. The process that owns an
 * engine (app, serve mode, CLI) calls `attachMemory(engine)` once after
 * creating it; `memoryMonitors()` (monitors.ts) then uses its calibration.
 */
import type { Engine } from '../engine.js';
import { readHfFolder } from '../formats/hfFolder.js';
import type { History } from '../history/history.js';
import { ConvertParams } from '../../common/stages/convert.js';
import { CalibrationService, calibrationPoint, settingsCalibrationStore } from './calibration.js';

const services = new WeakMap<History, CalibrationService>();
let active: CalibrationService | undefined;

/** The calibration of the engine attached last in this process, if any. */
export function activeCalibration(): CalibrationService | undefined {
  return active;
}

/** The calibration of the host behind this history database, loaded once. */
export async function calibrationFor(history: History): Promise<CalibrationService> {
  let service = services.get(history);
  if (!service) {
    service = new CalibrationService(settingsCalibrationStore(history));
    services.set(history, service);
    await service.load();
  }
  return service;
}

/**
 * Loads the engine's calibration (making it the one the monitors use) and
 * starts recording calibration points. Returns the unsubscribe function.
 */
export async function attachMemory(engine: Pick<Engine, 'history' | 'events'>): Promise<() => void> {
  active = await calibrationFor(engine.history);
  return attachCalibrationRecorder(engine);
}

/**
 * Records a calibration point whenever a conversion stage finishes or is
 * stopped by the guard. Returns the unsubscribe function.
 */
export function attachCalibrationRecorder(engine: Pick<Engine, 'history' | 'events'>): () => void {
  return engine.events.subscribe((event) => {
    if (event.type !== 'stage') return;
    const stage = event.stage;
    if (stage.kind !== 'convert' || (stage.status !== 'succeeded' && stage.status !== 'stopped_by_guard')) return;
    if (stage.reusedFromStageId !== null || stage.startedAt === null || stage.finishedAt === null) return;
    const params = ConvertParams.safeParse(stage.params);
    if (!params.success) return;
    void (async () => {
      const samples = engine.history.memorySamples(stage.runId).filter((s) => s.stageId === stage.id);
      const peak = Math.max(stage.peakRssBytes ?? 0, ...samples.map((s) => s.treeRss));
      const config = await readHfFolder(params.data.modelDir).then((s) => s.config).catch(() => null);
      const point = calibrationPoint({
        runId: stage.runId,
        stageId: stage.id,
        at: stage.finishedAt!,
        params: params.data,
        config,
        peakBytes: peak,
        durationSec: (stage.finishedAt! - stage.startedAt!) / 1000,
        status: stage.status as 'succeeded' | 'stopped_by_guard',
      });
      if (point) await (await calibrationFor(engine.history)).record(point);
    })().catch(() => {
      // Calibration is an improvement, never a reason to disturb a run's bookkeeping.
    });
  });
}
