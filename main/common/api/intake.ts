/**
 * API method for model and adapter intake (wizard step 1): folders in,
 * findings and problems out. Headers only, so it answers in milliseconds
 * even for multi-GB checkpoints.
 */
import { IntakeRequest, IntakeResult } from '../intake.js';
import { method } from './define.js';

export const intakeMethods = {
  'intake.inspect': method(IntakeRequest, IntakeResult),
};
