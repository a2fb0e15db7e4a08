/**
 * Handlers for app info and settings.
 */
import type { appMethods } from '../../common/api/app.js';
import { APP_VERSION, hostSnapshot } from '../host.js';
import type { HandlerFactory } from './handlerTypes.js';

export const appHandlers: HandlerFactory<keyof typeof appMethods> = (engine) => ({
  'app.info': () => ({
    appVersion: APP_VERSION,
    mode: engine.mode === 'electron' ? 'electron' : 'serve',
    dataDir: engine.dataDir,
    databaseFile: engine.databaseFile,
    host: hostSnapshot(),
    availableMemBytes: engine.availableMemBytes(),
    remote: engine.remote,
  }),
  'settings.get': () => engine.settings.get(),
  'settings.update': (patch) => engine.settings.update(patch),
  'settings.reset': () => engine.settings.reset(),
});
