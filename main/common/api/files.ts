/**
 * API methods for picking paths on the machine that runs the engine (the
 * remote host in serve mode, where the browser cannot see the file system):
 * list a folder, complete a partial path, and remember recently used model
 * and adapter folders (kept in the history database, so the app and serve
 * mode offer the same ones).
 */
import { z } from 'zod';
import { method } from './define.js';

export const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(['dir', 'file']),
  /** Bytes for files; null for folders. */
  size: z.number().nullable(),
  hidden: z.boolean(),
});
export type FileEntry = z.infer<typeof FileEntry>;

export const ListDirectoryRequest = z.object({
  /** Absolute path (or `~`, `~/…`); empty means the user's home folder. */
  path: z.string().max(4096),
  showHidden: z.boolean().default(false),
  /** Folder pickers only need folders; file pickers get both. */
  include: z.enum(['dirs', 'all']).default('all'),
});

export const DirectoryListing = z.object({
  /** The folder listed, absolute and normalised. */
  path: z.string(),
  /** Its parent, or null at the file system root. */
  parent: z.string().nullable(),
  /** The user's home folder on the engine's host (a shortcut in the browser). */
  home: z.string(),
  /** Folders first, then files, each sorted by name. */
  entries: z.array(FileEntry),
  /** More entries than the listing limit: the rest were left out. */
  truncated: z.boolean(),
});
export type DirectoryListing = z.infer<typeof DirectoryListing>;

/** What a folder holds, for fields that want one kind: a PEFT adapter (adapter_config.json) or a model (config.json). */
export const FolderRole = z.enum(['adapter', 'model', 'other']);
export type FolderRole = z.infer<typeof FolderRole>;

export const CompletePathRequest = z.object({
  partial: z.string().max(4096),
  include: z.enum(['dirs', 'all']).default('all'),
  limit: z.number().int().min(1).max(200).default(50),
  /** Leave out folders of this role (the base-model field does not offer adapter folders, and the other way round). */
  excludeRole: FolderRole.exclude(['other']).optional(),
});

export const PathCompletions = z.object({
  /** The folder whose entries were matched. */
  base: z.string(),
  suggestions: z.array(z.object({ path: z.string(), type: z.enum(['dir', 'file']) })),
});
export type PathCompletions = z.infer<typeof PathCompletions>;

export const RecentKind = z.enum(['model', 'adapter']);
export type RecentKind = z.infer<typeof RecentKind>;

export const filesMethods = {
  'files.list': method(ListDirectoryRequest, DirectoryListing),
  'files.complete': method(CompletePathRequest, PathCompletions),
  'files.recent': method(z.object({ kind: RecentKind }), z.object({ paths: z.array(z.string()) })),
  'files.remember': method(z.object({ kind: RecentKind, path: z.string().max(4096) }), z.object({ paths: z.array(z.string()) })),
};

/**
 * The Electron-only native picker (not an engine method: it needs the app's
 * window). `save` asks for a file that may not exist yet.
 */
export const PickPathRequest = z.object({
  kind: z.enum(['folder', 'file', 'save']),
  title: z.string().max(200).optional(),
  defaultPath: z.string().max(4096).optional(),
});
export type PickPathRequest = z.infer<typeof PickPathRequest>;
export const PICK_PATH_CHANNEL = 'wb-native:pickPath';
