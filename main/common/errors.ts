/**
 * Errors cross every boundary (IPC, WebSocket, CLI, stage protocol) as data:
 * a stable machine-readable code, one human sentence, optional details.
 */
export interface WorkbenchErrorData {
  code: string;
  message: string;
  details?: unknown;
}

export class WorkbenchError extends Error implements WorkbenchErrorData {
  readonly code: string;
  readonly details?: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'WorkbenchError';
    this.code = code;
    this.details = details;
  }

  toData(): WorkbenchErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

/** Turns anything thrown into the wire shape without leaking stack traces. */
export function toErrorData(error: unknown): WorkbenchErrorData {
  if (error instanceof WorkbenchError) return error.toData();
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}
