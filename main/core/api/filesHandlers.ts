/**
 * Handlers for path picking: they read the engine's host (in serve mode the
 * remote machine), as the user running the engine.
 */
import type { filesMethods } from '../../common/api/files.js';
import { completePath, listDirectory } from '../files/browse.js';
import { recentPaths, rememberPath } from '../files/recent.js';
import type { HandlerFactory } from './handlerTypes.js';

export const filesHandlers: HandlerFactory<keyof typeof filesMethods> = (engine) => ({
  'files.list': (request) => listDirectory(request),
  'files.complete': (request) => completePath(request),
  'files.recent': ({ kind }) => ({ paths: recentPaths(engine.history, kind) }),
  'files.remember': ({ kind, path }) => ({ paths: rememberPath(engine.history, kind, path) }),
});
