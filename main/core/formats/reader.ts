/**
 * The one small interface every format reader implements (Netron-style):
 * `match` looks at a probe of the path (is it a folder, its size, its first
 * bytes) without parsing, `open` reads the header and returns a typed,
 * serialisable summary. detect.ts probes a path once and asks each reader.
 */
import { readdir, stat } from 'node:fs/promises';
import { FormatErrorCode } from '../../common/formats.js';
import type { InspectionSummary } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { openRegularFile } from '../files/regularFile.js';

export interface PathProbe {
  path: string;
  isDirectory: boolean;
  /** File size in bytes (0 for folders). */
  size: number;
  /** Up to the first 64 bytes of a file (empty for folders). */
  head: Uint8Array;
  /** Entry names of a folder (empty for files). */
  entries: string[];
}

export interface FormatReader<S extends InspectionSummary = InspectionSummary> {
  readonly format: S['format'];
  match(probe: PathProbe): boolean;
  open(path: string): Promise<S>;
}

export const PROBE_HEAD_BYTES = 64;

/** Stats a path and reads its first bytes (files) or entry names (folders). */
export async function probePath(target: string): Promise<PathProbe> {
  let info;
  try {
    info = await stat(target);
  } catch (error) {
    throw notFound(target, error);
  }
  if (info.isDirectory()) {
    return { path: target, isDirectory: true, size: 0, head: new Uint8Array(0), entries: await readdir(target) };
  }
  const handle = await openRegularFile(target);
  try {
    const head = new Uint8Array(Math.min(PROBE_HEAD_BYTES, info.size));
    if (head.length > 0) await handle.read(head, 0, head.length, 0);
    return { path: target, isDirectory: false, size: info.size, head, entries: [] };
  } finally {
    await handle.close();
  }
}

export function notFound(target: string, cause?: unknown): WorkbenchError {
  // A refusal that already says what is wrong (a folder or pipe where a file belongs) stays as it is.
  if (cause instanceof WorkbenchError) return cause;
  const reason = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new WorkbenchError(
    FormatErrorCode.notFound,
    reason === 'EACCES' ? `Cannot read ${target}: permission denied.` : `${target} does not exist.`,
    { path: target },
  );
}
