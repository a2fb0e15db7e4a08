/**
 * Output folders are created when missing (with their parents), as a user
 * expects of a tool that writes a file; what is refused is a file standing
 * where a folder must be.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';

/**
 * The path itself or its nearest ancestor that exists (`existing`, null only
 * when not even the root does), and the folders below it that are missing,
 * outermost first.
 */
function nearestExisting(dir: string): { existing: { path: string; isDirectory: boolean } | null; missing: string[] } {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    let info;
    try {
      info = statSync(current);
    } catch {
      info = null;
    }
    if (info) return { existing: { path: current, isDirectory: info.isDirectory() }, missing };
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) return { existing: null, missing };
    current = parent;
  }
}

/** True when `dir` exists as a folder or can be created with mkdir -p: its nearest existing ancestor is a folder. */
export function folderCanBeCreated(dir: string): boolean {
  return nearestExisting(dir).existing?.isDirectory ?? false;
}

/** True when `target` is `folder` itself or lies inside it (paths compared resolved, not on disk). */
export function isSameOrInside(folder: string, target: string): boolean {
  const rel = path.relative(path.resolve(folder), path.resolve(target));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * mkdir -p done one level at a time, synchronously. Node's recursive mkdir
 * spins forever on some virtual file systems (a path under /proc, seen with
 * Node 20), and its errors do not say which level failed; this one stops at
 * the first level that cannot be made and names it.
 */
export function makeDirectories(dir: string): void {
  const { existing, missing } = nearestExisting(dir);
  if (existing && !existing.isDirectory) throw new WorkbenchError('not_a_folder', `Cannot create ${dir}: ${existing.path} is a file, not a folder.`, { path: existing.path });
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOENT' ? 'this file system does not allow it' : (error as Error).message;
      throw new WorkbenchError('not_writable', `Cannot create the folder ${folder}: ${reason}.`, { path: folder });
    }
  }
}
