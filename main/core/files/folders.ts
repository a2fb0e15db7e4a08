/**
 * Output folders are created when missing (with their parents), as a user
 * expects of a tool that writes a file; what is refused is a file standing
 * where a folder must be.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

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
