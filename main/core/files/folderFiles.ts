/**
 * The files a stage will read inside a folder the user named (config.json,
 * safetensors shards, tokenizer and template files), checked before a run
 * starts: a named pipe there hangs the converter, the merge or the Python
 * reference for good, and a link to /dev/zero streams forever. Each is
 * opened the non-blocking way (regularFile.ts) and refused with one sentence
 * unless it is a regular file. Names that are not model files are left alone.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { openRegularFile } from './regularFile.js';

/** Files a model or adapter folder's readers open. */
const READ_FILES = /\.(json|safetensors|model|jinja|txt|bin|pt|pth)$/i;

/** Throws `not_a_file` for the first file a stage would read that is not a regular file. */
export async function checkFolderFiles(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return; // A missing or unreadable folder is the caller's own sentence.
  }
  for (const name of names.filter((n) => READ_FILES.test(n)).sort()) {
    let handle;
    try {
      handle = await openRegularFile(path.join(dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EACCES') continue;
      throw error;
    }
    await handle.close();
  }
}

/** Throws `not_a_file` when a user-named file is a pipe, socket, device or folder (missing files are the caller's sentence). */
export async function checkRegularFile(file: string): Promise<void> {
  let handle;
  try {
    handle = await openRegularFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await handle.close();
}
