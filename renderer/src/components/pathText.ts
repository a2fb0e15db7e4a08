/**
 * Path text helpers for the renderer, which cannot use node:path and may show
 * paths of another OS (serve mode on a Linux host from a Windows browser):
 * the separator is taken from the path itself.
 */

import { formatBytes } from '../../../main/common/format';

export function separatorOf(p: string): '/' | '\\' {
  return p.includes('\\') && !p.includes('/') ? '\\' : '/';
}

export function joinPath(dir: string, name: string): string {
  const sep = separatorOf(dir);
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}

/** The folder part of a path ("" when there is none). */
export function dirnameOf(p: string): string {
  const trimmed = p.length > 1 ? p.replace(/[\\/]+$/, '') : p;
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  if (cut < 0) return '';
  if (cut === 0) return trimmed[0]!;
  // "C:\\x" → "C:\\"
  if (cut === 2 && /^[A-Za-z]:/.test(trimmed)) return trimmed.slice(0, 3);
  return trimmed.slice(0, cut);
}

export function basenameOf(p: string): string {
  const trimmed = p.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut < 0 ? trimmed : trimmed.slice(cut + 1);
}

/** A file's size in the app's binary units (MiB/GiB); empty for a folder. */
export function formatSize(bytes: number | null): string {
  return bytes === null ? '' : formatBytes(bytes);
}
