/**
 * Handlers for the memory API: estimates against this engine's host, live
 * host RAM, calibration read and reset.
 */
import { nativeBuilds } from '../stages/defaultRoute.js';
import type { memoryMethods } from '../../common/api/memory.js';
import { readHfFolder } from '../formats/hfFolder.js';
import { buildContextTable } from '../memory/contextTable.js';
import { calibrationFor } from '../memory/engineMemory.js';
import { hostBudget } from '../memory/estimator.js';
import { decisionHostMemory } from '../memory/decisionHost.js';
import type { HandlerFactory } from './handlerTypes.js';

export const memoryHandlers: HandlerFactory<keyof typeof memoryMethods> = (engine) => ({
  'memory.estimate': async (input) => {
    // A missing or unreadable folder is a WorkbenchError from the reader (file_not_found, not_model_folder, bad_json).
    const folder = await readHfFolder(input.modelDir);
    const [host, calibration] = await Promise.all([decisionHostMemory(), calibrationFor(engine.history)]);
    return buildContextTable({
      config: folder.config,
      options: {
        prefillSeqLens: input.prefillSeqLens,
        quantize: input.quantize,
        route: input.route ?? ((await nativeBuilds(input.modelDir)) ? 'native' : 'example'),
        lightweightConversion: input.lightweightConversion,
        maskAsInput: input.maskAsInput,
      },
      hostTotalBytes: host.total,
      hostAvailableBytes: host.available,
      stopUsedFraction: engine.settings.get().memory.stopUsedFraction,
      extraContexts: input.extraContexts,
      calibration: calibration.applied(),
      ...(input.deviceRamBytes !== undefined ? { deviceRamBytes: input.deviceRamBytes } : {}),
    });
  },
  'memory.host': async () => {
    const host = await decisionHostMemory();
    return {
      t: Date.now(),
      totalBytes: host.total,
      availableBytes: host.available,
      usedBytes: Math.max(0, host.total - host.available),
      swapTotalBytes: host.swapTotal,
      swapUsedBytes: host.swapUsed,
      budgetBytes: hostBudget(host.total, host.available, engine.settings.get().memory.stopUsedFraction),
    };
  },
  'memory.calibration.get': async () => {
    const service = await calibrationFor(engine.history);
    return { fit: service.current(), points: service.points() };
  },
  'memory.calibration.reset': async () => {
    const service = await calibrationFor(engine.history);
    return { fit: await service.reset(), points: [] };
  },
});
