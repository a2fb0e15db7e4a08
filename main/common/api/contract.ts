/**
 * The one API of the workbench: every method's input and output schema.
 * Electron IPC (preload), the serve-mode WebSocket and the renderer client
 * are all derived from this object. Domains register with one line here.
 */
import type { z } from 'zod';
import { appMethods } from './app.js';
import { bundleRunMethods } from './bundleRun.js';
import { demoMethods } from './demo.js';
import { envMethods } from './env.js';
import { evaluationsMethods } from './evaluations.js';
import { fidelityMethods } from './fidelity.js';
import { filesMethods } from './files.js';
import { inspectMethods } from './inspect.js';
import { intakeMethods } from './intake.js';
import { memoryMethods } from './memory.js';
import { runsMethods } from './runs.js';

export const contract = {
  ...appMethods,
  ...runsMethods,
  ...memoryMethods,
  ...envMethods,
  ...intakeMethods,
  ...fidelityMethods,
  ...inspectMethods,
  ...filesMethods,
  ...bundleRunMethods,
  ...evaluationsMethods,
  ...demoMethods,
};

export type Contract = typeof contract;
export type MethodName = keyof Contract;
export type MethodInput<M extends MethodName> = z.input<Contract[M]['input']>;
export type MethodParsedInput<M extends MethodName> = z.output<Contract[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Contract[M]['output']>;

export const METHOD_NAMES = Object.keys(contract) as MethodName[];

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(contract, name);
}

/** What every call returns across a process boundary: errors survive as data. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: { code: string; message: string; details?: unknown } };
