/**
 * Handler for model intake: reads the folders on the engine's host (in serve
 * mode, the remote machine where the conversion will run).
 */
import type { intakeMethods } from '../../common/api/intake.js';
import { runIntake } from '../intake/intake.js';
import type { HandlerFactory } from './handlerTypes.js';

export const intakeHandlers: HandlerFactory<keyof typeof intakeMethods> = () => ({
  'intake.inspect': (request) => runIntake(request),
});
