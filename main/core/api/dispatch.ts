/**
 * The single entry point both transports call: look up the method, validate
 * the input with its zod schema, run the handler, and wrap the outcome in an
 * envelope so errors cross IPC and WebSocket as { code, message, details }.
 */
import { contract, isMethodName, type Envelope, type MethodName } from '../../common/api/contract.js';
import { WorkbenchError, toErrorData } from '../../common/errors.js';
import type { Handler, Handlers } from './handlerTypes.js';

export type Dispatch = (method: string, input: unknown) => Promise<Envelope<unknown>>;

export function createDispatch(handlers: Handlers, options: { onInternalError?: (method: string, error: unknown) => void } = {}): Dispatch {
  return async (method, input) => {
    try {
      if (!isMethodName(method)) throw new WorkbenchError('unknown_method', `There is no API method named "${method}".`);
      const spec = contract[method];
      const parsed = spec.input.safeParse(input ?? {});
      if (!parsed.success) {
        throw new WorkbenchError(
          'invalid_input',
          `Invalid input for ${method}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`).join('; ')}`,
          { issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })) },
        );
      }
      const handler = handlers[method] as Handler<MethodName>;
      const value = await handler(parsed.data as never);
      return { ok: true, value };
    } catch (error) {
      if (!(error instanceof WorkbenchError)) options.onInternalError?.(method, error);
      return { ok: false, error: toErrorData(error) };
    }
  };
}
