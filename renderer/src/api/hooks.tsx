/**
 * React glue for the API client: a context, a data-loading hook that reloads
 * on demand, and an event subscription hook.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { MethodInput, MethodName, MethodOutput } from '../../../main/common/api/contract';
import type { WorkbenchEvent } from '../../../main/common/api/events';
import type { ApiClient, ConnectionStatus } from './client';
import { ApiError } from './client';

const ApiContext = createContext<ApiClient | null>(null);

export function ApiProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (!client) throw new Error('useApi outside ApiProvider');
  return client;
}

export interface CallState<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Calls `method` with `input` whenever `key` changes (JSON of the input by default). */
export function useCall<M extends MethodName>(method: M, input: MethodInput<M> | null, key?: unknown): CallState<MethodOutput<M>> {
  const api = useApi();
  const [data, setData] = useState<MethodOutput<M>>();
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(input !== null);
  const [generation, setGeneration] = useState(0);
  const depKey = JSON.stringify(key ?? input);
  const inputRef = useRef(input);
  inputRef.current = input;
  /** The input the shown data answers. */
  const dataKey = useRef<string | null>(null);

  useEffect(() => {
    if (inputRef.current === null) {
      setLoading(false);
      return;
    }
    let live = true;
    const requestKey = depKey;
    setLoading(true);
    api
      .call(method, inputRef.current)
      .then((value) => {
        if (!live) return;
        dataKey.current = requestKey;
        setData(value);
        setError(null);
      })
      .catch((err: unknown) => {
        if (!live) return;
        setError(err instanceof ApiError ? err : new ApiError('internal', String(err)));
        // A failed reload keeps what was shown; a failed call for other input must not show the old answer under the new error.
        if (dataKey.current !== requestKey) setData(undefined);
      })
      .finally(() => {
        if (live) setLoading(false);
      });
    return () => {
      live = false;
    };
  }, [api, method, depKey, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

export function useEvents(listener: (event: WorkbenchEvent) => void): void {
  const api = useApi();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => api.subscribe((event) => ref.current(event)), [api]);
}

export function useConnectionStatus(): ConnectionStatus {
  const api = useApi();
  const [status, setStatus] = useState<ConnectionStatus>('open');
  useEffect(() => api.transport.onStatus?.(setStatus), [api]);
  return status;
}

/** Runs an action, keeping its pending state and error for the button that started it. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setPending(true);
      setError(null);
      try {
        return await action(...args);
      } catch (err) {
        setError(err instanceof ApiError ? err : new ApiError('internal', String(err)));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [action],
  );
  return { run, pending, error, clearError: () => setError(null) };
}
