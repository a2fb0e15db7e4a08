/**
 * Server-side path picking for serve mode, where the browser cannot see the
 * engine's file system: list one folder, complete a partial path. Every path
 * is checked first (absolute, no `..` segments, no device namespaces) and
 * the operating system decides what the serving user may read: an unreadable
 * folder is refused with a clear error, never listed partially.
 */
import type { Dirent } from 'node:fs';
import { access, constants, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DirectoryListing, FileEntry, FolderRole, PathCompletions } from '../../common/api/files.js';
import { WorkbenchError } from '../../common/errors.js';

/** Enough for any model folder; a folder with more is cut, and says so. */
export const MAX_LISTED_ENTRIES = 2000;

type Include = 'dirs' | 'all';

export interface BrowseContext {
  home: string;
  platform: NodeJS.Platform;
}

const defaultContext = (): BrowseContext => ({ home: os.homedir(), platform: process.platform });

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/**
 * Validates a user-typed path and returns it absolute and normalised.
 * `..` is refused rather than resolved: a picker never needs it, and
 * resolving it silently is how "/allowed/../../etc" tricks work.
 */
export function checkBrowsePath(input: string, context: BrowseContext = defaultContext()): string {
  const p = pathApi(context.platform);
  if (input.includes('\0')) throw new WorkbenchError('path_invalid', 'The path contains a NUL character, which no file name can hold.');
  // Checked on the input as typed: joining with the home folder would already resolve `..`.
  if (input.split(context.platform === 'win32' ? /[\\/]+/ : /\/+/).includes('..')) {
    throw new WorkbenchError('path_traversal', `"${input}" contains "..": type the folder's full path instead (the browser's Up button goes to the parent).`);
  }
  let candidate = input === '' ? context.home : input;
  if (candidate === '~') candidate = context.home;
  else if (candidate.startsWith('~/') || (context.platform === 'win32' && candidate.startsWith('~\\'))) candidate = p.join(context.home, candidate.slice(2));
  if (context.platform === 'win32' && /^[\\/]{2}[?.][\\/]/.test(candidate)) {
    throw new WorkbenchError('path_invalid', `"${input}" is a device namespace path (\\\\?\\ or \\\\.\\); type an ordinary path such as C:\\Users\\me\\models.`);
  }
  if (!p.isAbsolute(candidate)) {
    throw new WorkbenchError('path_not_absolute', `"${input}" is not an absolute path; start it with ${context.platform === 'win32' ? 'a drive letter such as C:\\' : '/'} or ~.`);
  }
  return p.resolve(candidate);
}

function fsError(error: unknown, target: string): WorkbenchError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new WorkbenchError('path_not_found', `${target} does not exist.`);
  if (code === 'EACCES' || code === 'EPERM') return new WorkbenchError('path_unreadable', `${target} cannot be read by the user running the workbench.`);
  if (code === 'ENOTDIR') return new WorkbenchError('not_a_directory', `${target} is not a folder.`);
  if (code === 'ELOOP') return new WorkbenchError('path_invalid', `${target} is a symbolic link loop.`);
  return new WorkbenchError('path_unreadable', `${target} cannot be read: ${(error as Error).message}`);
}

/** What a directory entry is, following symbolic links; null for sockets, devices, broken links. */
async function entryType(dir: string, dirent: Dirent): Promise<'dir' | 'file' | null> {
  if (dirent.isDirectory()) return 'dir';
  if (dirent.isFile()) return 'file';
  if (!dirent.isSymbolicLink()) return null;
  try {
    const target = await stat(path.join(dir, dirent.name));
    return target.isDirectory() ? 'dir' : target.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** An adapter folder holds adapter_config.json; a model folder config.json (an adapter may hold both: it is an adapter). */
async function folderRole(dir: string): Promise<FolderRole> {
  const has = (name: string) => access(path.join(dir, name)).then(() => true, () => false);
  if (await has('adapter_config.json')) return 'adapter';
  return (await has('config.json')) ? 'model' : 'other';
}

async function readableDirectory(dir: string): Promise<Dirent[]> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    throw fsError(error, dir);
  }
  if (!info.isDirectory()) throw new WorkbenchError('not_a_directory', `${dir} is a file, not a folder.`);
  try {
    await access(dir, constants.R_OK | constants.X_OK);
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, dir);
  }
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name, undefined, { numeric: true, sensitivity: 'base' });

export async function listDirectory(
  request: { path: string; showHidden?: boolean; include?: Include },
  context: BrowseContext = defaultContext(),
): Promise<DirectoryListing> {
  const dir = checkBrowsePath(request.path, context);
  const p = pathApi(context.platform);
  const dirents = await readableDirectory(dir);
  const typed: Array<{ name: string; type: 'dir' | 'file' }> = [];
  for (const dirent of dirents) {
    if (!request.showHidden && dirent.name.startsWith('.')) continue;
    const type = await entryType(dir, dirent);
    if (type === null || (type === 'file' && request.include === 'dirs')) continue;
    typed.push({ name: dirent.name, type });
  }
  typed.sort((a, b) => (a.type === b.type ? byName(a, b) : a.type === 'dir' ? -1 : 1));
  const kept = typed.slice(0, MAX_LISTED_ENTRIES);
  const entries: FileEntry[] = await Promise.all(
    kept.map(async ({ name, type }) => {
      const full = p.join(dir, name);
      let size: number | null = null;
      if (type === 'file') size = await stat(full).then((s) => s.size, () => null);
      return { name, path: full, type, size, hidden: name.startsWith('.') };
    }),
  );
  const parent = p.dirname(dir);
  return { path: dir, parent: parent === dir ? null : parent, home: context.home, entries, truncated: typed.length > kept.length };
}

/**
 * Completes the last segment of a partial path against the folder before it.
 * A folder that does not exist (yet) gives no suggestions rather than an
 * error, since the user is still typing; unreadable folders and `..` tricks
 * are refused like in listDirectory.
 */
export async function completePath(
  request: { partial: string; include?: Include; limit?: number; excludeRole?: Exclude<FolderRole, 'other'> },
  context: BrowseContext = defaultContext(),
): Promise<PathCompletions> {
  const p = pathApi(context.platform);
  const partial = request.partial === '~' ? '~/' : request.partial;
  // Validate the whole input (refuses `..` anywhere), then split it as typed:
  // resolving first would swallow a trailing "." the user typed to see hidden entries.
  checkBrowsePath(partial, context);
  const cut = Math.max(partial.lastIndexOf('/'), context.platform === 'win32' ? partial.lastIndexOf('\\') : -1);
  const head = partial.slice(0, cut + 1);
  const prefix = partial.slice(cut + 1);
  const base = checkBrowsePath(head === '' ? partial : head, context);
  let dirents: Dirent[];
  try {
    dirents = await readableDirectory(base);
  } catch (error) {
    if (error instanceof WorkbenchError && (error.code === 'path_not_found' || error.code === 'not_a_directory')) return { base, suggestions: [] };
    throw error;
  }
  const caseInsensitive = context.platform === 'win32' || context.platform === 'darwin';
  const wanted = caseInsensitive ? prefix.toLowerCase() : prefix;
  const matches: Array<{ name: string; type: 'dir' | 'file' }> = [];
  for (const dirent of dirents) {
    const name = caseInsensitive ? dirent.name.toLowerCase() : dirent.name;
    if (!name.startsWith(wanted)) continue;
    // Hidden entries only when the user starts typing a dot.
    if (dirent.name.startsWith('.') && !prefix.startsWith('.')) continue;
    const type = await entryType(base, dirent);
    if (type === null || (type === 'file' && request.include === 'dirs')) continue;
    if (type === 'dir' && request.excludeRole && (await folderRole(p.join(base, dirent.name))) === request.excludeRole) continue;
    matches.push({ name: dirent.name, type });
  }
  matches.sort((a, b) => (a.type === b.type ? byName(a, b) : a.type === 'dir' ? -1 : 1));
  return { base, suggestions: matches.slice(0, request.limit ?? 50).map(({ name, type }) => ({ path: p.join(base, name), type })) };
}
