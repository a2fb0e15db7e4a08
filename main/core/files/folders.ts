/**
 * Output folders are created when missing (with their parents), as a user
 * expects of a tool that writes a file; what is refused is a file standing
 * where a folder must be.
 */
import { mkdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';

/** True when `dir` exists as a folder or can be created with mkdir -p: its nearest existing ancestor is a folder. */
export async function folderCanBeCreated(dir: string): Promise<boolean> {
  let current = path.resolve(dir);
  for (;;) {
    const info = await stat(current).catch(() => null);
    if (info) return info.isDirectory();
    const parent = path.dirname(current);
    if (parent === current) return false;
    current = parent;
  }
}

/**
 * mkdir -p done one level at a time, synchronously. Node's recursive mkdir
 * spins forever on some virtual file systems (a path under /proc, seen with
 * Node 20), and its errors do not say which level failed; this one stops at
 * the first level that cannot be made and names it.
 */
export function makeDirectories(dir: string): void {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (;;) {
    let info;
    try {
      info = statSync(current);
    } catch {
      info = null;
    }
    if (info) {
      if (!info.isDirectory()) throw new WorkbenchError('not_a_folder', `Cannot create ${dir}: ${current} is a file, not a folder.`, { path: current });
      break;
    }
    missing.unshift(current);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
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
