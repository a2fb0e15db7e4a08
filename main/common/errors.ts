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
  const system = describeSystemError(error);
  if (system) return system.toData();
  if (error instanceof Error) return { code: 'internal', message: error.message };
  return { code: 'internal', message: String(error) };
}

const SYSTEM_REASONS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EISDIR: 'it is a folder, not a file',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'it already exists',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the disk',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};

/**
 * A file-system error from Node (ENOENT, EISDIR, …) as one sentence naming the
 * path, for bad input that reached a read or write before any check caught
 * it; null for anything else, which stays an internal error.
 */
export function describeSystemError(error: unknown): WorkbenchError | null {
  const e = error as NodeJS.ErrnoException | undefined;
  const reason = e?.code ? SYSTEM_REASONS[e.code] : undefined;
  if (!reason || !e?.path) return null;
  const action = e.syscall === 'open' || e.syscall === 'read' ? 'use' : e.syscall === 'mkdir' ? 'create' : e.syscall === 'scandir' ? 'list' : e.syscall ?? 'use';
  return new WorkbenchError(e.code === 'ENOSPC' ? 'disk_full' : 'file_error', `Cannot ${action} ${e.path}: ${reason}.`, { path: e.path, syscall: e.syscall });
}

/** A zod validation failure as one line per problem ("stages.0.params.r: Too small…"), not the library's JSON. */
export function describeValidationIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || 'input'}: ${issue.message}`).join('; ');
}
