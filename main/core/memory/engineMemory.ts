/**
 * The memory capability of an engine: one calibration service per history
 * database, and the recorder that turns each finished or guard-stopped
 * conversion into a calibration point. The engine composes it (engine.ts):
 * it calls `attachMemory` once and hands the loaded calibration to the
 * monitors and to stage preflights, which never reach back for it.
 */
import { readHfFolder } from '../formats/hfFolder.js';
import type { EventBus } from '../events.js';
import type { History } from '../history/history.js';
import { ConvertParams } from '../../common/stages/convert.js';
import { CalibrationService, calibrationPoint, settingsCalibrationStore } from './calibration.js';

/** What the memory capability needs from an engine. */
export interface MemoryHost {
  history: History;
  events: EventBus;
}

const services = new WeakMap<History, CalibrationService>();

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
 * Loads the engine's calibration and starts recording calibration points.
 * Returns the calibration and the function that stops the recording.
 */
export async function attachMemory(engine: MemoryHost): Promise<{ calibration: CalibrationService; detach: () => void }> {
  const calibration = await calibrationFor(engine.history);
  return { calibration, detach: attachCalibrationRecorder(engine) };
}

/**
 * Records a calibration point whenever a conversion stage finishes or is
 * stopped by the guard. Returns the unsubscribe function.
 */
export function attachCalibrationRecorder(engine: MemoryHost): () => void {
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
