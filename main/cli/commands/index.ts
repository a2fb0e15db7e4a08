/**
 * Every CLI command. One line per command; each lives in its own file.
 */
import type { CliCommand } from '../context.js';
import { chatCommand } from './chat.js';
import { checkCommand } from './check.js';
import { convertCommand } from './convert.js';
import { demoCommand } from './demo.js';
import { doctorCommand } from './doctor.js';
import { estimateCommand } from './estimate.js';
import { evaluateCommand } from './evaluate.js';
import { inspectCommand } from './inspect.js';
import { mergeCommand } from './merge.js';
import { packageCommand } from './package.js';
import { recipesCommand } from './recipes.js';
import { runCommand } from './run.js';
import { runsCommand } from './runs.js';
import { serveCommand } from './serve.js';

export const commands: CliCommand[] = [runsCommand, runCommand, serveCommand, doctorCommand, estimateCommand, mergeCommand, convertCommand, inspectCommand, packageCommand, checkCommand, chatCommand, evaluateCommand, recipesCommand, demoCommand];
