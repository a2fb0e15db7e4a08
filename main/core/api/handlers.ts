/**
 * All API handlers, merged from the domain files. The `satisfies` check makes
 * a method declared in the contract without a handler a compile error.
 */
import type { Engine } from '../engine.js';
import { appHandlers } from './appHandlers.js';
import { bundleRunHandlers } from './bundleRunHandlers.js';
import { demoHandlers } from './demoHandlers.js';
import { envHandlers } from './envHandlers.js';
import { evaluationsHandlers } from './evaluationsHandlers.js';
import { fidelityHandlers } from './fidelityHandlers.js';
import { filesHandlers } from './filesHandlers.js';
import type { Handlers } from './handlerTypes.js';
import { inspectHandlers } from './inspectHandlers.js';
import { intakeHandlers } from './intakeHandlers.js';
import { memoryHandlers } from './memoryHandlers.js';
import { runsHandlers } from './runsHandlers.js';

export function createHandlers(engine: Engine): Handlers {
  return {
    ...appHandlers(engine),
    ...runsHandlers(engine),
    ...memoryHandlers(engine),
    ...envHandlers(engine),
    ...intakeHandlers(engine),
    ...fidelityHandlers(engine),
    ...inspectHandlers(engine),
    ...filesHandlers(engine),
    ...bundleRunHandlers(engine),
    ...evaluationsHandlers(engine),
    ...demoHandlers(engine),
  } satisfies Handlers;
}
