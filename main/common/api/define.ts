/**
 * The shape every API method shares: an input schema and an output schema.
 * Domain files (runs.ts, settings.ts, ...) declare their methods with
 * `method(...)`; contract.ts merges them into the one API both transports
 * (Electron IPC and the serve-mode WebSocket) and the renderer client use.
 */
import type { z } from 'zod';

export interface MethodSpec<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I;
  output: O;
}

export function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O): MethodSpec<I, O> {
  return { input, output };
}
