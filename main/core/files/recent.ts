/**
 * Recently used model and adapter folders, kept in the history database's
 * settings table so the desktop app, serve mode and the CLI share them.
 * Folders that have since disappeared are dropped when the list is read.
 */
import { statSync } from 'node:fs';
import type { RecentKind } from '../../common/api/files.js';
import { WorkbenchError } from '../../common/errors.js';
import { checkBrowsePath } from './browse.js';

export const MAX_RECENT = 8;

/** The settings rows of the history database (History has these methods; the files folder does not import it). */
interface SettingsAccess {
  getSetting<T>(key: string): T | null;
  setSetting(key: string, value: unknown): void;
}

const settingKey = (kind: RecentKind) => `files.recent.${kind}`;

function isDirectory(target: string): boolean {
  try {
    return statSync(target).isDirectory();
  } catch {
    return false;
  }
}

export function recentPaths(history: SettingsAccess, kind: RecentKind): string[] {
  const stored = history.getSetting<unknown>(settingKey(kind));
  if (!Array.isArray(stored)) return [];
  return stored.filter((entry): entry is string => typeof entry === 'string' && isDirectory(entry)).slice(0, MAX_RECENT);
}

/** Puts `target` first (once); only existing folders are remembered. */
export function rememberPath(history: SettingsAccess, kind: RecentKind, target: string): string[] {
  const folder = checkBrowsePath(target);
  if (!isDirectory(folder)) throw new WorkbenchError('not_a_directory', `${folder} is not an existing folder, so it was not added to the recent ${kind} folders.`);
  const next = [folder, ...recentPaths(history, kind).filter((entry) => entry !== folder)].slice(0, MAX_RECENT);
  history.setSetting(settingKey(kind), next);
  return next;
}
