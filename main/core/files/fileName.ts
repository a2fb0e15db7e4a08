/**
 * File names the workbench writes: a legal name (up to the file systems'
 * 255-byte limit) is accepted, an over-long one refused before any work with
 * one sentence, and the temporary sibling a writer uses while writing
 * (`<name>.partial…`) is shortened when adding its suffix would cross the
 * limit, so a legal 240-character name never fails at the end of a
 * conversion with ENAMETOOLONG.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { WorkbenchError } from '../../common/errors.js';

/** ext4, XFS, APFS, NTFS (in UTF-16 units): 255. */
export const MAX_NAME_BYTES = 255;

/** Throws `name_too_long` when the last part of `target` is longer than a file name can be. */
export function checkFileName(target: string): void {
  const name = path.basename(target);
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_NAME_BYTES) {
    throw new WorkbenchError('name_too_long', `The file name ${name.slice(0, 40)}… is ${bytes} bytes long, and file names can be at most ${MAX_NAME_BYTES}: choose a shorter name.`, { path: target, bytes });
  }
}

/** `<dir>/<prefix><name><suffix>`, or a short hashed stand-in for the name when that would be too long. */
export function siblingPath(target: string, suffix: string, prefix = ''): string {
  const name = path.basename(target);
  const wanted = `${prefix}${name}${suffix}`;
  if (Buffer.byteLength(wanted) <= MAX_NAME_BYTES) return path.join(path.dirname(target), wanted);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  return path.join(path.dirname(target), `${prefix}${hash}${suffix}`);
}
