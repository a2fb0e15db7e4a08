/**
 * Opening a file that must be a regular file. A named pipe, socket or device
 * where a model, bundle, plan or metadata file is expected would block an
 * open() until something writes to it — the CLI hangs, and in serve mode a
 * libuv thread is lost for good — and a folder fails later with a bare
 * EISDIR. Every reader of user-named files opens them here: non-blocking, so
 * a pipe opens at once, then refused with one sentence unless fstat says it
 * is a regular file. Other open errors (ENOENT, EACCES) are thrown as Node
 * raised them, for the caller's own message.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';

const READ_NONBLOCK = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** What a path is when it is not a regular file ("a folder", "a named pipe (FIFO)", …); null for a regular file. */
export function nonFileKind(stats: Stats): string | null {
  if (stats.isFile()) return null;
  if (stats.isDirectory()) return 'a folder';
  if (stats.isFIFO()) return 'a named pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The one-sentence refusal for a path that is not a regular file. */
export function notARegularFile(target: string, kind: string): WorkbenchError {
  return new WorkbenchError('not_a_file', `${target} is ${kind}, not a file${kind === 'a folder' ? '' : ' that can be read'}.`, { path: target, kind });
}

/** A socket cannot be opened at all (ENXIO): say what it is rather than "no such device". */
function refusedOpen(target: string, error: unknown, stats: Stats | null): unknown {
  const kind = stats ? nonFileKind(stats) : null;
  return kind !== null ? notARegularFile(target, kind) : error;
}

/** An open file descriptor of a regular file (close it with closeSync). */
export function openRegularFileSync(target: string): number {
  let fd: number;
  try {
    fd = openSync(target, READ_NONBLOCK);
  } catch (error) {
    throw refusedOpen(target, error, statSync(target, { throwIfNoEntry: false }) ?? null);
  }
  const kind = nonFileKind(fstatSync(fd));
  if (kind !== null) {
    closeSync(fd);
    throw notARegularFile(target, kind);
  }
  return fd;
}

/** An open handle of a regular file (close it). */
export async function openRegularFile(target: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(target, READ_NONBLOCK);
  } catch (error) {
    throw refusedOpen(target, error, await stat(target).catch(() => null));
  }
  const kind = nonFileKind(await handle.stat());
  if (kind !== null) {
    await handle.close();
    throw notARegularFile(target, kind);
  }
  return handle;
}

/** A cap on what is read whole: a file that big is not the kind of file named (a 50 GB "config.json"). */
export interface ReadLimit {
  maxBytes: number;
  /** What the file should be, for the sentence ("a config.json"). */
  what: string;
}

/** Bytes that small files (JSON configs, prompt lists, metadata) never reach. */
export const SMALL_FILE_LIMIT_BYTES = 64 * 1024 * 1024;

function tooLarge(target: string, size: number, limit: ReadLimit): WorkbenchError {
  return new WorkbenchError(
    'file_too_large',
    `${target} is ${formatBytes(size)}, far more than ${limit.what} holds (at most ${formatBytes(limit.maxBytes)}); name the right file.`,
    { path: target, bytes: size },
  );
}

/** The whole content of a regular file (refused unread above `limit.maxBytes`). */
export async function readRegularFile(target: string, encoding?: undefined, limit?: ReadLimit): Promise<Buffer>;
export async function readRegularFile(target: string, encoding: 'utf8', limit?: ReadLimit): Promise<string>;
export async function readRegularFile(target: string, encoding?: 'utf8', limit?: ReadLimit): Promise<Buffer | string> {
  const handle = await openRegularFile(target);
  try {
    if (limit) {
      const { size } = await handle.stat();
      if (size > limit.maxBytes) throw tooLarge(target, size, limit);
    }
    return encoding ? await handle.readFile({ encoding }) : await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The whole content of a regular file, synchronously. */
export function readRegularFileSync(target: string, encoding: 'utf8', limit?: ReadLimit): string {
  const fd = openRegularFileSync(target);
  try {
    if (limit) {
      const { size } = fstatSync(fd);
      if (size > limit.maxBytes) throw tooLarge(target, size, limit);
    }
    return readFileSync(fd, encoding);
  } finally {
    closeSync(fd);
  }
}
