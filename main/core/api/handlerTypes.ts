/**
 * The type every API handler has: validated input in, output out (or a thrown
 * WorkbenchError). Domain handler files return a slice of the full map.
 */
import type { MethodName, MethodOutput, MethodParsedInput } from '../../common/api/contract.js';
import type { Engine } from '../engine.js';

export type Handler<M extends MethodName> = (input: MethodParsedInput<M>) => Promise<MethodOutput<M>> | MethodOutput<M>;
export type Handlers = { [M in MethodName]: Handler<M> };
export type HandlerSlice<Ms extends MethodName> = { [M in Ms]: Handler<M> };
export type HandlerFactory<Ms extends MethodName> = (engine: Engine) => HandlerSlice<Ms>;
